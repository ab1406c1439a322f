"""The indicators against WFP's published formulas, with hand-computed households at every boundary.

Each case is one household (inputs with WFP names) and the indicator values worked out by hand from
WFP's formulas (docs/TARGETING.md). The same cases run on SQLite, PostgreSQL and DuckDB.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from jatigi.core.errors import ValidationFailed
from jatigi.targeting import indicators as ind
from jatigi.targeting import inputs as I  # noqa: N812

FCS0 = dict.fromkeys(I.FCS_WEIGHTS, 0)
RCSI0 = dict.fromkeys(I.RCSI_WEIGHTS, 0)
HHS0 = {"HHSNoFood": 0, "HHSBedHung": 0, "HHSNotEat": 0}
LCS_CHOSEN = ("Lcs_stress_DomAsset", "Lcs_stress_Saving", "Lcs_stress_BorrowCash", "Lcs_stress_CrdtFood",
              "Lcs_crisis_ProdAssets", "Lcs_crisis_Health", "Lcs_crisis_OutSchool",
              "Lcs_em_ResAsset", "Lcs_em_Begged", "Lcs_em_IllegalAct")
LCS0 = dict.fromkeys(LCS_CHOSEN, I.LCS_NO)
NF0 = dict.fromkeys(I.NON_FOOD_EXPENDITURE, 0)
PARAMS = ind.IndicatorParams(meb_per_person=20000, smeb_per_person=12000)


def fcs_row(**days: int) -> dict[str, Any]:
    return {**FCS0, **days}


def spend(food: float, non_food: float, size: int = 5, debt: float = 0) -> dict[str, Any]:
    """Food, and non-food spread as rent + water; `debt` repaid the same month."""
    return {**NF0, I.FOOD_EXPENDITURE: food, "HHExpNFRent_Purch_MN_1M": non_food - 1000,
            "HHExpNFWat_Purch_MN_1M": 1000, I.DEBT_REPAYMENT: debt, "HHSize": size}


def hhs_row(*frequencies: int | None) -> dict[str, Any]:
    """One frequency per question (None: answered no)."""
    row: dict[str, Any] = {}
    for (question, frequency), fr in zip(I.HHS_QUESTIONS, frequencies, strict=True):
        row[question] = 0 if fr is None else 1
        row[frequency] = fr
    return row


def hdds_row(groups: int) -> dict[str, Any]:
    return {g: int(i < groups) for i, g in enumerate(I.HDDS_GROUPS)}


def ch_row(fcs_days: dict[str, int], rcsi: dict[str, int], hhs: tuple[int | None, ...], lcs: dict[str, int]) -> dict:
    return {**fcs_row(**fcs_days), **RCSI0, **rcsi, **hhs_row(*hhs), **LCS0, **lcs}


# (household inputs, the indicators expected). Only the indicators named are checked.
CASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    # FCS = 2x7 + 3x3 + 4x1 + 4x2 + 1x5 + 1x1 + 0.5x7 + 0.5x7 = 48 (condiments weigh 0)
    (fcs_row(FCSStap=7, FCSPulse=3, FCSDairy=1, FCSPr=2, FCSVeg=5, FCSFruit=1, FCSFat=7, FCSSugar=7),
     {"fcs": 48.0, "fcs_category": "acceptable"}),
    (fcs_row(), {"fcs": 0.0, "fcs_category": "poor"}),
    # 28/42 (Sahel, the default): 28 poor, 28.5 borderline, 42 borderline, 42.5 acceptable
    (fcs_row(FCSStap=7, FCSDairy=3, FCSVeg=2), {"fcs": 28.0, "fcs_category": "poor"}),
    (fcs_row(FCSStap=7, FCSDairy=3, FCSVeg=2, FCSFat=1), {"fcs": 28.5, "fcs_category": "borderline"}),
    (fcs_row(FCSStap=7, FCSPulse=7, FCSVeg=7), {"fcs": 42.0, "fcs_category": "borderline"}),
    (fcs_row(FCSStap=7, FCSPulse=7, FCSVeg=7, FCSSugar=1), {"fcs": 42.5, "fcs_category": "acceptable"}),
    # rCSI = 1 + 2 + 1 + 3 + 1 for one day of each; phases at 3/4 and 18/19
    (dict.fromkeys(I.RCSI_WEIGHTS, 1), {"rcsi": 8, "rcsi_phase": 2}),
    ({**RCSI0, "rCSILessQlty": 3}, {"rcsi": 3, "rcsi_phase": 1}),
    ({**RCSI0, "rCSIBorrow": 2}, {"rcsi": 4, "rcsi_phase": 2}),
    ({**RCSI0, "rCSIMealAdult": 6}, {"rcsi": 18, "rcsi_phase": 2}),
    ({**RCSI0, "rCSIMealAdult": 6, "rCSIMealNb": 1}, {"rcsi": 19, "rcsi_phase": 3}),
    ({**RCSI0, "rCSIMealAdult": 7, "rCSIBorrow": 7, "rCSILessQlty": 7, "rCSIMealSize": 7, "rCSIMealNb": 7},
     {"rcsi": 56, "rcsi_phase": 3}),
    # HHS: rarely/sometimes 1, often 2; phases 0 / 1 / 2-3 / 4 / 5-6
    (hhs_row(None, None, None), {"hhs": 0, "hhs_phase": 1}),
    (hhs_row(1, None, None), {"hhs": 1, "hhs_phase": 2}),
    (hhs_row(3, None, None), {"hhs": 2, "hhs_phase": 3}),
    (hhs_row(3, 2, None), {"hhs": 3, "hhs_phase": 3}),
    (hhs_row(3, 3, None), {"hhs": 4, "hhs_phase": 4}),
    (hhs_row(3, 3, 1), {"hhs": 5, "hhs_phase": 5}),
    (hhs_row(3, 3, 3), {"hhs": 6, "hhs_phase": 5}),
    ({**hhs_row(1, None, None), "HHSNoFood_FR": None}, {"hhs": None, "hhs_phase": None}),  # yes, how often?
    # HDDS: >= 5 / 4 / 3 / 2 / < 2 -> phases 1-5
    (hdds_row(12), {"hdds": 12, "hdds_phase": 1}),
    (hdds_row(5), {"hdds": 5, "hdds_phase": 1}),
    (hdds_row(4), {"hdds": 4, "hdds_phase": 2}),
    (hdds_row(3), {"hdds": 3, "hdds_phase": 3}),
    (hdds_row(2), {"hdds": 2, "hdds_phase": 4}),
    (hdds_row(1), {"hdds": 1, "hdds_phase": 5}),
    (hdds_row(0), {"hdds": 0, "hdds_phase": 5}),
    # Livelihood coping: "exhausted" (20) counts as used, "not applicable" (9999) does not
    (LCS0, {"lcs_max": "none"}),
    ({**LCS0, "Lcs_stress_Saving": I.LCS_YES}, {"lcs_max": "stress"}),
    ({**LCS0, "Lcs_stress_Saving": I.LCS_YES, "Lcs_crisis_Health": I.LCS_EXHAUSTED}, {"lcs_max": "crisis"}),
    ({**LCS0, "Lcs_em_Begged": I.LCS_EXHAUSTED}, {"lcs_max": "emergency"}),
    ({**LCS0, "Lcs_crisis_OutSchool": I.LCS_NOT_APPLICABLE}, {"lcs_max": "none"}),
    ({**LCS0, "Lcs_em_Begged": I.LCS_YES, "Lcs_stress_Saving": None}, {"lcs_max": "emergency"}),
    ({**LCS0, "Lcs_crisis_Health": I.LCS_YES, "Lcs_em_Begged": None}, {"lcs_max": "crisis"}),  # not asked
    ({**LCS0, "Lcs_crisis_Health": I.LCS_YES, "Lcs_em_ResAsset": None, "Lcs_em_Begged": None,
      "Lcs_em_IllegalAct": None}, {"lcs_max": None}),  # no emergency strategy answered
    # Household phase: FEWS NET food consumption matrix, then the food consumption-livelihood coping matrix
    (ch_row({"FCSStap": 7, "FCSPulse": 7, "FCSVeg": 7, "FCSSugar": 1}, {}, (None, None, None), {}),
     {"ch_phase": 1}),  # acceptable, HHS 0, rCSI 0 (cell 1), no coping
    (ch_row({"FCSStap": 7, "FCSPulse": 7, "FCSVeg": 7, "FCSSugar": 1}, {}, (None, None, None),
            {"Lcs_em_Begged": I.LCS_YES}), {"ch_phase": 3}),  # food phase 1 with emergency coping
    (ch_row({"FCSStap": 7, "FCSPulse": 7}, {"rCSIBorrow": 2}, (1, None, None),
            {"Lcs_crisis_Health": I.LCS_EXHAUSTED}), {"ch_phase": 3}),  # borderline, HHS 1, rCSI 4: cell 22
    (ch_row({"FCSStap": 7}, {}, (None, None, None), {}), {"ch_phase": 2}),  # poor, HHS 0, rCSI 0: cell 11
    (ch_row({"FCSStap": 7}, {"rCSIMealAdult": 7}, (3, 3, None), {"Lcs_stress_Saving": I.LCS_YES}),
     {"ch_phase": 4}),  # poor, HHS 4, rCSI 21: cell 44, food phase 4
    (ch_row({"FCSStap": 7}, {"rCSIMealAdult": 7}, (3, 3, 3), {}), {"ch_phase": 5}),  # cell 45
    ({**ch_row({"FCSStap": 7}, {}, (None, None, None), {}), "rCSIBorrow": None}, {"ch_phase": None}),
    # Food expenditure share: < 50 / 50-65 / 65-75 / >= 75 %; debt repayment is not consumption
    (spend(49000, 51000), {"food_expenditure_share": 49.0, "food_expenditure_category": "below_50"}),
    (spend(50000, 50000, debt=30000), {"food_expenditure_share": 50.0, "food_expenditure_category": "50_to_65"}),
    (spend(65000, 35000), {"food_expenditure_share": 65.0, "food_expenditure_category": "65_to_75"}),
    (spend(75000, 25000), {"food_expenditure_share": 75.0, "food_expenditure_category": "75_or_more"}),
    ({**spend(0, 1000), "HHExpNFWat_Purch_MN_1M": 0}, {"food_expenditure_share": None,
                                                        "food_expenditure_category": None}),
    # Economic capacity: MEB 20,000 and SMEB 12,000 FCFA per person, 5 persons
    (spend(60000, 40000), {"expenditure_per_person": 20000.0, "economic_capacity": "meb_or_more"}),
    (spend(60000, 39995), {"expenditure_per_person": 19999.0, "economic_capacity": "smeb_to_meb"}),
    (spend(30000, 30000), {"expenditure_per_person": 12000.0, "economic_capacity": "smeb_to_meb"}),
    (spend(30000, 29995), {"expenditure_per_person": 11999.0, "economic_capacity": "below_smeb"}),
    # Household make-up
    ({"HHDependents": 4, "HHWorkingAge": 2, "HHSize": 6, "HHRooms": 2}, {"dependency_ratio": 2.0, "crowding": 3.0}),
    ({"HHDependents": 3, "HHWorkingAge": 0, "HHSize": 5, "HHRooms": 0}, {"dependency_ratio": 3.0, "crowding": 5.0}),
    # Washington Group: 3 (a lot of difficulty) or 4 (cannot do at all) in any domain
    (dict.fromkeys(I.WG_DOMAINS, 2), {"wg_disability": 0}),
    ({**dict.fromkeys(I.WG_DOMAINS, 1), "wg_walking": 3}, {"wg_disability": 1}),
    ({**dict.fromkeys(I.WG_DOMAINS), "wg_seeing": 4}, {"wg_disability": 1}),
    ({**dict.fromkeys(I.WG_DOMAINS), "wg_seeing": 2}, {"wg_disability": None}),
    # Nothing assessed: every indicator NULL, none zero
    ({}, {i.name: None for i in ind.INDICATORS}),
]


def _table(metadata: sa.MetaData, name: str = "households") -> sa.Table:
    columns = [sa.Column(v.name, sa.Float if v.kind == "money" else sa.Integer) for v in I.INPUTS]
    return sa.Table(name, metadata, sa.Column("id", sa.Integer, primary_key=True), *columns)


def _rows() -> list[dict[str, Any]]:
    return [{"id": n, **dict.fromkeys(I.BY_NAME), **row} for n, (row, _expected) in enumerate(CASES)]


def _query(table: sa.Table, params: ind.IndicatorParams = PARAMS) -> sa.Select[Any]:
    exprs = ind.all_indicators({name: table.c[name] for name in I.BY_NAME}, params)
    return sa.select(table.c.id, *exprs.values()).order_by(table.c.id)


def _check(results: list[dict[str, Any]]) -> None:
    for (row, expected), got in zip(CASES, results, strict=True):
        for name, value in expected.items():
            assert got[name] == (pytest.approx(value) if isinstance(value, float) else value), (row, name, got[name])


def _on(engine: sa.Engine) -> list[dict[str, Any]]:
    metadata = sa.MetaData()
    table = _table(metadata, "indicator_cases")
    with engine.begin() as conn:
        metadata.create_all(conn)
        try:
            conn.execute(table.insert(), _rows())
            return [dict(r) for r in conn.execute(_query(table)).mappings()]
        finally:
            metadata.drop_all(conn)


def test_hand_computed_households_on_sqlite() -> None:
    _check(_on(sa.create_engine("sqlite://")))


def test_hand_computed_households_on_each_database(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    try:
        _check(_on(engine))
    finally:
        engine.dispose()


def test_hand_computed_households_on_duckdb() -> None:
    """The same SQL, as PostgreSQL writes it, runs on DuckDB (the engine for files)."""
    table = _table(sa.MetaData())
    sql = str(_query(table).compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    con = duckdb.connect()
    names = ["id", *I.BY_NAME]
    types = ["INTEGER", *("DOUBLE" if v.kind == "money" else "INTEGER" for v in I.INPUTS)]
    con.execute(f"CREATE TABLE households ({', '.join(f'{n} {t}' for n, t in zip(names, types, strict=True))})")
    con.executemany(f"INSERT INTO households VALUES ({', '.join('?' * len(names))})",
                    [[row[n] for n in names] for row in _rows()])
    cursor = con.execute(sql)
    columns = [d[0] for d in cursor.description]
    _check([dict(zip(columns, r, strict=True)) for r in cursor.fetchall()])


def test_standard_thresholds_21_35() -> None:
    metadata = sa.MetaData()
    table = _table(metadata)
    engine = sa.create_engine("sqlite://")
    metadata.create_all(engine)
    days = [dict(FCSStap=7, FCSVeg=7), dict(FCSStap=7, FCSVeg=7, FCSFat=1), dict(FCSStap=7, FCSPulse=7),
            dict(FCSStap=7, FCSPulse=7, FCSSugar=1)]  # 21, 21.5, 35, 35.5
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"id": n, **fcs_row(**d)} for n, d in enumerate(days)])
        category = ind.fcs_category({n: table.c[n] for n in I.FCS_WEIGHTS}, ind.FCS_THRESHOLDS_STANDARD)
        got = conn.execute(sa.select(ind.fcs({n: table.c[n] for n in I.FCS_WEIGHTS}), category)
                           .order_by(table.c.id)).all()
    assert [tuple(r) for r in got] == [(21.0, "poor"), (21.5, "borderline"), (35.0, "borderline"),
                                       (35.5, "acceptable")]


def test_a_module_absent_from_the_columns_is_not_assessed() -> None:
    metadata = sa.MetaData()
    table = _table(metadata)
    engine = sa.create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"id": 1, **fcs_row(FCSStap=7), **hhs_row(3, 3, 3), **hdds_row(6), **LCS0,
                                       **spend(1000, 1000)}])
        without = {n: table.c[n] for n in I.BY_NAME if n not in ("FCSFat", "HHSNotEat", "Lcs_em_ResAsset",
                                                                   "Lcs_em_Begged", "Lcs_em_IllegalAct")}
        got = conn.execute(sa.select(*ind.all_indicators(without).values())).mappings().one()
    assert got["fcs"] is None and got["fcs_category"] is None
    assert got["hhs"] is None and got["hhs_phase"] is None
    assert got["lcs_max"] is None and got["ch_phase"] is None
    assert got["hdds"] == 6
    assert got["economic_capacity"] is None  # no MEB given
    assert got["expenditure_per_person"] == pytest.approx(400.0)


@pytest.mark.parametrize("kwargs", [
    {"fcs_thresholds": (42.0, 28.0)}, {"fcs_thresholds": (0.0, 35.0)},
    {"meb_per_person": 20000.0}, {"meb_per_person": 10000.0, "smeb_per_person": 12000.0},
])
def test_parameters_that_make_no_sense_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed):
        ind.IndicatorParams(**kwargs)


def test_every_indicator_is_a_model_field() -> None:
    fields = ind.indicator_fields()
    assert [f.name for f in fields] == list(ind.all_indicators({}))
    assert all(f.source == "indicator" for f in fields)


def test_in_two_steps_as_scoring_computes_them_the_indicators_are_the_same() -> None:
    """Scoring computes the base indicators first, then derives phases and categories from their
    columns (targeting.scope): the hand-computed values hold that way too."""
    metadata = sa.MetaData()
    table = _table(metadata, "two_steps")
    names = {i.name for i in ind.INDICATORS}
    base = ind.base_indicators({name: table.c[name] for name in I.BY_NAME}, ind.base_needed(names))
    first = sa.select(table.c.id, *(e.label(n) for n, e in base.items())).offset(0).subquery()
    derived = ind.derived_indicators({n: first.c[n] for n in base}, names, PARAMS)
    query = sa.select(*first.c, *(e.label(n) for n, e in derived.items())).order_by(first.c.id)
    engine = sa.create_engine("sqlite://")
    with engine.begin() as conn:
        metadata.create_all(conn)
        conn.execute(table.insert(), _rows())
        results = [dict(r) for r in conn.execute(query).mappings()]
    assert set(base) | set(derived) == names
    _check(results)
