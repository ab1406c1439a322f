"""The JSON API of protection, under /api/v1/protection: cases (case_api), referrals
(referral_api), the service directory (service_api), family tracing (tracing_api), protection
monitoring (monitoring_api), statistics (statistics_api) and the supervisors' access review (audit_api).

Each router is included in the app by itself (`web.deps.include_api_router`), so that the table
of routes and permissions reads every route."""

from __future__ import annotations

from jatigi.protection.audit_api import router as audit_router
from jatigi.protection.case_api import router as case_router
from jatigi.protection.monitoring_api import router as monitoring_router
from jatigi.protection.referral_api import router as referral_router
from jatigi.protection.service_api import router as service_router
from jatigi.protection.statistics_api import router as statistics_router
from jatigi.protection.tracing_api import router as tracing_router

routers = (case_router, referral_router, service_router, tracing_router, monitoring_router, statistics_router,
           audit_router)
