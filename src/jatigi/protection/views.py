"""The pages of protection: cases (case_views), referrals (referral_views), the service directory
(service_views), family tracing (tracing_views), protection monitoring (monitoring_views),
statistics (statistics_views) and the supervisors' review of who opened which case (audit_views)."""

from __future__ import annotations

from jatigi.protection.audit_views import router as audit_router
from jatigi.protection.case_views import router as case_router
from jatigi.protection.monitoring_views import router as monitoring_router
from jatigi.protection.referral_views import router as referral_router
from jatigi.protection.service_views import router as service_router
from jatigi.protection.statistics_views import router as statistics_router
from jatigi.protection.tracing_views import router as tracing_router

routers = (case_router, referral_router, service_router, tracing_router, monitoring_router, statistics_router,
           audit_router)
