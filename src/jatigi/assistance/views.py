"""The cash assistance pages, on one router for the app: programmes (programme_views), enrolment
(enrolment_views), cycles (cycle_views), payment files and reports (payment_views), monitoring
interviews (pdm_views), coverage and gaps (coverage_views). Each module adds its routes to
`assistance.pages.router`; importing them here registers them. What they share is in assistance.pages."""

from __future__ import annotations

from jatigi.assistance import (
    coverage_views,
    cycle_views,
    enrolment_views,
    payment_views,
    pdm_views,
    programme_views,
)
from jatigi.assistance.pages import router

__all__ = ["router"]
MODULES = (programme_views, enrolment_views, cycle_views, payment_views, pdm_views, coverage_views)
