"""A household's phase on the Cadre Harmonisé scale (1 minimal ... 5 catastrophe), as SQL.

The Cadre Harmonisé classifies areas: an area takes the most severe phase in which at least 20% of
its households fall, counted cumulatively. It has no rule for one household. For that we use
FEWS NET's matrices, made to place household outcomes on the same 1-5 scale (FEWS NET, "Guidance
for the FEWS NET matrix", p. 13; coded as such by REACH's impactR / humind `fcm`, `fcp`, `fclcp`):

1. the Food Consumption Matrix crosses the FCS group (acceptable, borderline, poor), the HHS class
   (0, 1, 2-3, 4, 5-6) and the rCSI class (0-3, 4-18, 19+) into a food consumption phase;
2. the Food Consumption-Livelihood Coping matrix crosses that phase with the most severe
   livelihood coping used (none, stress, crisis, emergency) into the household's phase.

HDDS is not part of the matrices. Any NULL component gives NULL.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

Expr = ColumnElement[Any]

# Food consumption phase of each cell: FCS group f (0 acceptable, 1 borderline, 2 poor), HHS class h
# (0-4), rCSI class r (0-2); cell = 15 r + 5 f + h + 1.
FC_PHASE_CELLS = {
    1: (1, 6),
    2: (2, 3, 7, 11, 12, 16, 17, 18, 21, 22, 26, 31, 32, 36),
    3: (4, 5, 8, 9, 13, 19, 20, 23, 24, 27, 28, 33, 34, 37, 38, 41, 42, 43),
    4: (10, 14, 15, 25, 29, 35, 39, 40, 44),
    5: (30, 45),
}
# Household phase by (food consumption phase, coping: 0 none, 1 stress, 2 crisis, 3 emergency).
FCLC_PHASE = {
    (1, 0): 1, (1, 1): 1, (1, 2): 2, (1, 3): 3,
    (2, 0): 2, (2, 1): 2, (2, 2): 3, (2, 3): 3,
    (3, 0): 3, (3, 1): 3, (3, 2): 3, (3, 3): 4,
    (4, 0): 4, (4, 1): 4, (4, 2): 4, (4, 3): 4,
    **{(5, coping): 5 for coping in range(4)},
}


def food_consumption_phase(fcs_group: Expr, hhs_phase: Expr, rcsi_phase: Expr) -> Expr:
    """Phase 1-5 from the FCS group (0 acceptable, 1 borderline, 2 poor) and the HHS and rCSI phases."""
    cell = rcsi_phase * 15 - 15 + fcs_group * 5 + hhs_phase
    return sa.case({c: phase for phase, cells in FC_PHASE_CELLS.items() for c in cells}, value=cell)


def household_phase(fc_phase: Expr, coping: Expr) -> Expr:
    """Phase 1-5 from the food consumption phase and the coping level (0 none ... 3 emergency)."""
    return sa.case({fc * 10 + c: phase for (fc, c), phase in FCLC_PHASE.items()}, value=fc_phase * 10 + coping)
