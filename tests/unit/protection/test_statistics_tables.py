"""The four tables of a statistics request (type x month, type x region, type x cercle, age group x
sex), built from random incidents and suppressed together: no hidden number of any of them can be
worked out from everything the request publishes."""

from __future__ import annotations

import random
from datetime import date

import pytest

from jatigi.protection import statistics as st
from jatigi.protection import vocab
from tests.unit.protection.test_suppression import _assert_small_hidden, _assert_unrecoverable

MONTHS = [date(2026, m, 1) for m in range(1, 5)]
CERCLES = {"ML0501": "ML05", "ML0506": "ML05", "ML0901": "ML09", "ML0101": "ML01", "ML0102": "ML01"}


@pytest.mark.parametrize("seed", range(4))
def test_the_tables_of_a_request_give_back_no_hidden_count(seed: int) -> None:
    rng = random.Random(seed)
    incidents = []
    for _i in range(rng.randint(10, 60)):
        cercle = rng.choice([*CERCLES, st.UNKNOWN])
        incidents.append(st.Incident(type=rng.choice(list(vocab.GBV_TYPES)[:4]), month=rng.choice(MONTHS),
                                     region=CERCLES.get(cercle, st.UNKNOWN), cercle=cercle,
                                     age=rng.choice(["12-17", "18-59", "unknown"]), sex=rng.choice(["f", "m"])))
    published = st.build_tables(incidents, MONTHS)
    assert [p.table.name for p in published] == ["type_month", "type_region", "type_cercle", "age_sex"]
    assert len({p.total() for p in published}) == 1
    _assert_small_hidden(published)
    _assert_unrecoverable(published)
