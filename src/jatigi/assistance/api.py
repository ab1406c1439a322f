"""The JSON API of cash assistance, under /api/v1/assistance: programmes and their households
(programme_api), cycles and their payment lines (cycle_api), payment files, reconciliation,
providers, coverage and continuity (payment_api). Complaints have their own (complaint_api).

Three routers, each included in the app by itself (`web.deps.include_api_router`), so that the
table of routes and permissions reads every route."""

from __future__ import annotations

from jatigi.assistance.cycle_api import router as cycle_router
from jatigi.assistance.payment_api import router as payment_router
from jatigi.assistance.programme_api import router as programme_router

routers = (programme_router, cycle_router, payment_router)
