"""Ranges accepted for registry numbers: one definition for imports, the API and edits."""

from __future__ import annotations

HOUSEHOLDS_IN_DWELLING = (1, 30)
MONTHLY_RENT_XOF = (0, 5_000_000)
RENT_ARREARS_XOF = (0, 50_000_000)
AGE_YEARS = (0, 120)
