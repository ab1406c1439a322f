"""The standard indicators as SQL column expressions, computed over sets of households.

Every function takes `cols`, a mapping from an input's WFP name (see `inputs`) to a column of any
selectable — a registry table, a CSV loaded into SQLite, a DuckDB view — and returns a portable
SQLAlchemy Core expression (CASE, arithmetic, comparisons, CAST). An input absent from `cols`, or
NULL in a row, makes the indicators that need it NULL: "not assessed", never zero.

Formulas are WFP's published ones (VAM resource centre; github.com/WFP-VAM/RAMResourcesScripts and
the West Africa Cadre Harmonisé guide github.com/WFP-VAM/RBD_FS_CH_guide_FR); docs/TARGETING.md
gives each with its source.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement, Label

from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import N_, _
from jatigi.registry import vocab
from jatigi.targeting import household_phase as phase
from jatigi.targeting import inputs as I  # noqa: N812
from jatigi.targeting.fields import Field, Kind

Cols = Mapping[str, ColumnElement[Any]]
Expr = ColumnElement[Any]

FCS_THRESHOLDS_STANDARD = (21.0, 35.0)
# Where oil and sugar are eaten nearly every day, as in the Sahel, WFP raises the thresholds to 28/42
# (DOMAIN.md); this is Jatigi's default for Mali.
FCS_THRESHOLDS_SAHEL = (28.0, 42.0)


@dataclass(frozen=True)
class IndicatorParams:
    fcs_thresholds: tuple[float, float] = FCS_THRESHOLDS_SAHEL
    meb_per_person: float | None = None  # Minimum Expenditure Basket, per person per month
    smeb_per_person: float | None = None  # Survival MEB, per person per month
    currency: str = "FCFA"

    def __post_init__(self) -> None:
        low, high = self.fcs_thresholds
        if not 0 < low < high <= 112:
            raise ValidationFailed(_("FCS thresholds must be two numbers, the first smaller, between 0 and 112 "
                                     "(such as 21,35 or 28,42), not {low},{high}.", low=low, high=high))
        meb, smeb = self.meb_per_person, self.smeb_per_person
        if (meb is None) != (smeb is None):
            raise ValidationFailed(_("Give both the MEB and the survival MEB per person, or neither."))
        if meb is not None and smeb is not None and not 0 < smeb <= meb:
            raise ValidationFailed(_("The survival MEB ({smeb}) must be above 0 and at most the MEB ({meb}).",
                                     smeb=smeb, meb=meb))


def _null(type_: Any = sa.Float) -> Expr:
    return sa.cast(sa.null(), type_)


def _all(cols: Cols, names: tuple[str, ...] | list[str]) -> list[Expr] | None:
    """The columns of every name, or None if one of them is not in `cols`."""
    found = [cols.get(n) for n in names]
    return None if any(c is None for c in found) else [c for c in found if c is not None]


def _float(col: Expr) -> Expr:
    return sa.cast(col, sa.Float)


def _int(col: Expr) -> Expr:
    # Also turns a PostgreSQL boolean into 0/1.
    return sa.cast(col, sa.Integer)


_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _ladder(value: Expr, bounds: list[tuple[str, float, Any]], last: tuple[str, float, Any]) -> Expr:
    """CASE WHEN value <op> bound THEN result ... END, `last` closing the ladder: NULL for a NULL value,
    since there is no ELSE for a NULL to fall to."""
    return sa.case(*((_OPS[op](value, bound), result) for op, bound, result in [*bounds, last]))


def _lookup(value: Expr, results: dict[int, Any]) -> Expr:
    """CASE value WHEN k THEN v ... END: the value is written (and computed) once; NULL when no k matches."""
    return sa.case(results, value=value)


def _sum(cols: Cols, weights: Mapping[str, float], cast: Any = sa.Float) -> Expr:
    """Sum of weight x column over the names of `weights`; NULL if one is not in `cols` (or NULL)."""
    found = _all(cols, list(weights))
    if found is None:
        return _null(cast)
    terms = [sa.cast(c, cast) * w if w != 1 else sa.cast(c, cast) for c, w in zip(found, weights.values(), strict=True)]
    return sum(terms[1:], terms[0])


def _ratio(top: Expr, bottom: Expr) -> Expr:
    """top / bottom as a float, NULL when bottom is 0."""
    return sa.case((bottom > 0, _float(top) / _float(bottom)), else_=sa.null())


# --- Food consumption -------------------------------------------------------------------------

def fcs(cols: Cols) -> Expr:
    """Food Consumption Score: days in the last 7 x weight (staples 2, pulses 3, dairy 4, meat/fish/eggs 4,
    vegetables 1, fruit 1, oil 0.5, sugar 0.5; condiments 0). 0 to 112."""
    return _sum(cols, I.FCS_WEIGHTS)


def fcs_category(cols: Cols, thresholds: tuple[float, float] = FCS_THRESHOLDS_SAHEL) -> Expr:
    """poor (<= low), borderline (<= high), acceptable (> high) — WFP's food consumption groups."""
    return fcs_category_of(fcs(cols), thresholds)


def fcs_category_of(score: Expr, thresholds: tuple[float, float] = FCS_THRESHOLDS_SAHEL) -> Expr:
    low, high = thresholds
    return _ladder(score, [("<=", low, "poor"), ("<=", high, "borderline")], (">", high, "acceptable"))


def rcsi(cols: Cols) -> Expr:
    """reduced Coping Strategies Index: less preferred food x1, borrow x2, portions x1, adults for children x3,
    fewer meals x1 (days in the last 7). 0 to 56."""
    return _sum(cols, I.RCSI_WEIGHTS, sa.Integer)


def rcsi_phase(cols: Cols) -> Expr:
    """Cadre Harmonisé reference table: 0-3 -> 1, 4-18 -> 2, 19 and more -> 3."""
    return rcsi_phase_of(rcsi(cols))


def rcsi_phase_of(index: Expr) -> Expr:
    return _ladder(index, [("<=", 3, 1), ("<=", 18, 2)], (">", 18, 3))


def hhs(cols: Cols) -> Expr:
    """Household Hunger Scale: each 'yes' scores 1 if rarely or sometimes, 2 if often; 0 to 6. A 'yes' whose
    frequency is missing makes it NULL."""
    scores = []
    for question, frequency in I.HHS_QUESTIONS:
        q = cols.get(question)
        if q is None:
            return _null(sa.Integer)
        fr = cols.get(frequency)
        yes = [] if fr is None else [(_int(fr).in_([1, 2]), 1), (_int(fr) == 3, 2)]
        scores.append(sa.case((q.is_(None), sa.null()), (_int(q) == 0, 0), *yes, else_=sa.null()))
    return scores[0] + scores[1] + scores[2]


def hhs_phase(cols: Cols) -> Expr:
    """0 -> 1, 1 -> 2, 2-3 -> 3, 4 -> 4, 5-6 -> 5 (Cadre Harmonisé, as WFP's RBD matrix)."""
    return hhs_phase_of(hhs(cols))


def hhs_phase_of(score: Expr) -> Expr:
    return _lookup(score, {0: 1, 1: 2, 2: 3, 3: 3, 4: 4, 5: 5, 6: 5})


def hdds(cols: Cols) -> Expr:
    """Household Dietary Diversity Score: food groups eaten in the last 24 hours, of 12."""
    return _sum(cols, dict.fromkeys(I.HDDS_GROUPS, 1), sa.Integer)  # a PostgreSQL boolean casts to 0/1


def hdds_phase(cols: Cols) -> Expr:
    """5 or more -> 1, 4 -> 2, 3 -> 3, 2 -> 4, fewer than 2 -> 5 (Cadre Harmonisé)."""
    return hdds_phase_of(hdds(cols))


def hdds_phase_of(score: Expr) -> Expr:
    return _lookup(score, {0: 5, 1: 5, 2: 4, 3: 3, 4: 2, **{n: 1 for n in range(5, 13)}})


# --- Livelihood coping ------------------------------------------------------------------------

LCS_CATEGORIES = ("none", "stress", "crisis", "emergency")


def lcs_max(cols: Cols) -> Expr:
    """The most severe level of livelihood coping used: none, stress, crisis or emergency.

    A strategy counts as used when answered "yes" (30) or "no, already exhausted" (20), as WFP counts
    it. The strategies are those of `cols` named Lcs_<level>_*. Country offices ask 10 of the list, so
    an empty answer is a strategy not asked; a level with no answer makes the result NULL unless a
    more severe level is used.
    """
    levels: dict[str, list[Expr]] = {"stress": [], "crisis": [], "emergency": []}
    for name, col in cols.items():
        level = I.lcs_level(name)
        if level:
            levels[level].append(_int(col))
    if not all(levels.values()):
        return _null(sa.String)
    whens: list[tuple[Any, Any]] = []
    for level in ("emergency", "crisis", "stress"):
        whens.append((sa.or_(*(c.in_([I.LCS_EXHAUSTED, I.LCS_YES]) for c in levels[level])), level))
        whens.append((sa.and_(*(c.is_(None) for c in levels[level])), sa.null()))
    return sa.case(*whens, else_="none")


# --- The household's phase (see household_phase for the method and its sources) ----------------

def food_consumption_phase(cols: Cols, thresholds: tuple[float, float] = FCS_THRESHOLDS_SAHEL) -> Expr:
    """FEWS NET Food Consumption Matrix phase (1-5) from the FCS group, HHS and rCSI."""
    return _food_consumption_phase_of(fcs(cols), hhs(cols), rcsi(cols), thresholds)


def _food_consumption_phase_of(score: Expr, hunger: Expr, coping_index: Expr, thresholds: tuple[float, float]) -> Expr:
    low, high = thresholds
    group = _ladder(score, [("<=", low, 2), ("<=", high, 1)], (">", high, 0))
    return phase.food_consumption_phase(group, hhs_phase_of(hunger), rcsi_phase_of(coping_index))


def ch_phase(cols: Cols, thresholds: tuple[float, float] = FCS_THRESHOLDS_SAHEL) -> Expr:
    """The household's phase on the Cadre Harmonisé scale, 1 (minimal) to 5 (catastrophe)."""
    return ch_phase_of(fcs(cols), hhs(cols), rcsi(cols), lcs_max(cols), thresholds)


def ch_phase_of(score: Expr, hunger: Expr, coping_index: Expr, livelihood: Expr,
                thresholds: tuple[float, float] = FCS_THRESHOLDS_SAHEL) -> Expr:
    """The household phase from FCS, HHS, rCSI and the most severe livelihood coping."""
    coping = sa.case({name: i for i, name in enumerate(LCS_CATEGORIES)}, value=livelihood)
    return phase.household_phase(_food_consumption_phase_of(score, hunger, coping_index, thresholds), coping)


# --- Economic capacity ------------------------------------------------------------------------

def total_expenditure(cols: Cols) -> Expr:
    """Monthly consumption expenditure: food and non-food, without debt repayment (as WFP's ECMEN)."""
    return _sum(cols, dict.fromkeys((I.FOOD_EXPENDITURE, *I.NON_FOOD_EXPENDITURE), 1))


def food_expenditure_share(cols: Cols) -> Expr:
    """Food expenditure as a percentage of consumption expenditure; NULL when nothing was spent."""
    food = cols.get(I.FOOD_EXPENDITURE)
    return _null() if food is None else _ratio(_float(food) * 100, total_expenditure(cols))


FES_CATEGORIES = ("below_50", "50_to_65", "65_to_75", "75_or_more")


def food_expenditure_category(cols: Cols) -> Expr:
    """WFP's four classes: < 50%, 50-65%, 65-75%, >= 75%."""
    return food_expenditure_category_of(food_expenditure_share(cols))


def food_expenditure_category_of(share: Expr) -> Expr:
    return _ladder(share, [("<", 50, FES_CATEGORIES[0]), ("<", 65, FES_CATEGORIES[1]),
                   ("<", 75, FES_CATEGORIES[2])], (">=", 75, FES_CATEGORIES[3]))


def expenditure_per_person(cols: Cols) -> Expr:
    size = cols.get("HHSize")
    return _null() if size is None else _ratio(total_expenditure(cols), size)


ECONOMIC_CATEGORIES = ("meb_or_more", "smeb_to_meb", "below_smeb")


def economic_capacity(cols: Cols, meb: float | None, smeb: float | None) -> Expr:
    """Monthly expenditure per person against the MEB and the survival MEB per person (ECMEN)."""
    return economic_capacity_of(expenditure_per_person(cols), meb, smeb)


def economic_capacity_of(per_person: Expr, meb: float | None, smeb: float | None) -> Expr:
    if meb is None or smeb is None:
        return _null(sa.String)
    return _ladder(per_person, [(">=", meb, ECONOMIC_CATEGORIES[0]),
                   (">=", smeb, ECONOMIC_CATEGORIES[1])], ("<", smeb, ECONOMIC_CATEGORIES[2]))


# --- Household make-up ------------------------------------------------------------------------

def _at_least_one(col: Expr) -> Expr:
    return sa.case((col > 1, _float(col)), (col.is_not(None), 1.0), else_=sa.null())


def dependency_ratio(cols: Cols) -> Expr:
    """Members under 18 or 60+ per member aged 18-59; with no member aged 18-59, divided by 1."""
    found = _all(cols, ["HHDependents", "HHWorkingAge"])
    return _null() if found is None else _float(found[0]) / _at_least_one(found[1])


def crowding(cols: Cols) -> Expr:
    """Persons per room; a household with no room counts as one room."""
    found = _all(cols, ["HHSize", "HHRooms"])
    return _null() if found is None else _float(found[0]) / _at_least_one(found[1])


def wg_disability(cols: Cols) -> Expr:
    """Washington Group short set: 1 when any domain is "a lot of difficulty" or "cannot do at all"
    (code 3 or 4), 0 when all six are answered below that, else NULL."""
    found = _all(cols, I.WG_DOMAINS)
    if found is None:
        return _null(sa.Integer)
    return sa.case((sa.or_(*(_int(c) >= vocab.WG_DISABILITY_THRESHOLD for c in found)), 1),
                   (sa.or_(*(c.is_(None) for c in found)), sa.null()), else_=0)


# --- All at once ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Indicator:
    name: str
    kind: Kind
    label: str
    choices: tuple[str, ...] | None = None


INDICATORS: tuple[Indicator, ...] = (
    Indicator("fcs", "number", N_("Food consumption score")),
    Indicator("fcs_category", "text", N_("Food consumption group"), ("poor", "borderline", "acceptable")),
    Indicator("rcsi", "number", N_("Reduced coping strategies index")),
    Indicator("rcsi_phase", "number", N_("rCSI phase")),
    Indicator("hhs", "number", N_("Household hunger scale")),
    Indicator("hhs_phase", "number", N_("HHS phase")),
    Indicator("hdds", "number", N_("Household dietary diversity score")),
    Indicator("hdds_phase", "number", N_("HDDS phase")),
    Indicator("lcs_max", "text", N_("Most severe livelihood coping"), LCS_CATEGORIES),
    Indicator("ch_phase", "number", N_("Household phase (Cadre Harmonisé scale)")),
    Indicator("food_expenditure_share", "number", N_("Food expenditure share (%)")),
    Indicator("food_expenditure_category", "text", N_("Food expenditure share class"), FES_CATEGORIES),
    Indicator("expenditure_per_person", "number", N_("Monthly expenditure per person (FCFA)")),
    Indicator("economic_capacity", "text", N_("Economic capacity against the MEB"), ECONOMIC_CATEGORIES),
    Indicator("dependency_ratio", "number", N_("Dependency ratio")),
    Indicator("crowding", "number", N_("Persons per room")),
    Indicator("wg_disability", "boolean", N_("Disability (Washington Group)")),
)

CATEGORY_LABELS = {
    "poor": N_("Poor"), "borderline": N_("Borderline"), "acceptable": N_("Acceptable"),
    "none": N_("None"), "stress": N_("Stress"), "crisis": N_("Crisis"), "emergency": N_("Emergency"),
    "below_50": N_("Below 50%"), "50_to_65": N_("50% to 65%"), "65_to_75": N_("65% to 75%"),
    "75_or_more": N_("75% or more"),
    "meb_or_more": N_("At or above the MEB"), "smeb_to_meb": N_("Between the survival MEB and the MEB"),
    "below_smeb": N_("Below the survival MEB"),
}


def all_indicators(cols: Cols, params: IndicatorParams | None = None) -> dict[str, Label[Any]]:
    """Every indicator, labelled with its name, in the order of INDICATORS."""
    p = params or IndicatorParams()
    t = p.fcs_thresholds
    exprs: dict[str, Expr] = {
        "fcs": fcs(cols), "fcs_category": fcs_category(cols, t),
        "rcsi": rcsi(cols), "rcsi_phase": rcsi_phase(cols),
        "hhs": hhs(cols), "hhs_phase": hhs_phase(cols),
        "hdds": hdds(cols), "hdds_phase": hdds_phase(cols),
        "lcs_max": lcs_max(cols), "ch_phase": ch_phase(cols, t),
        "food_expenditure_share": food_expenditure_share(cols),
        "food_expenditure_category": food_expenditure_category(cols),
        "expenditure_per_person": expenditure_per_person(cols),
        "economic_capacity": economic_capacity(cols, p.meb_per_person, p.smeb_per_person),
        "dependency_ratio": dependency_ratio(cols), "crowding": crowding(cols),
        "wg_disability": wg_disability(cols),
    }
    return {i.name: exprs[i.name].label(i.name) for i in INDICATORS}


# In two steps, for sets: the base indicators from the answers, then those derived from them from
# the base indicators' columns, so that a phase does not compute its score again for each use.
BASE = ("fcs", "rcsi", "hhs", "hdds", "lcs_max", "food_expenditure_share", "expenditure_per_person",
        "dependency_ratio", "crowding", "wg_disability")
DERIVED_FROM = {"fcs_category": ("fcs",), "rcsi_phase": ("rcsi",), "hhs_phase": ("hhs",), "hdds_phase": ("hdds",),
                "ch_phase": ("fcs", "hhs", "rcsi", "lcs_max"),
                "food_expenditure_category": ("food_expenditure_share",),
                "economic_capacity": ("expenditure_per_person",)}


def base_indicators(cols: Cols, names: set[str]) -> dict[str, Expr]:
    """The base indicators among `names`, from the answers in `cols`."""
    every = {"fcs": fcs, "rcsi": rcsi, "hhs": hhs, "hdds": hdds, "lcs_max": lcs_max,
             "food_expenditure_share": food_expenditure_share, "expenditure_per_person": expenditure_per_person,
             "dependency_ratio": dependency_ratio, "crowding": crowding, "wg_disability": wg_disability}
    return {name: every[name](cols) for name in BASE if name in names}


def derived_indicators(base: Cols, names: set[str], params: IndicatorParams | None = None) -> dict[str, Expr]:
    """The derived indicators among `names`, from the base indicators' columns in `base`."""
    p = params or IndicatorParams()
    t = p.fcs_thresholds
    make = {
        "fcs_category": lambda: fcs_category_of(base["fcs"], t),
        "rcsi_phase": lambda: rcsi_phase_of(base["rcsi"]),
        "hhs_phase": lambda: hhs_phase_of(base["hhs"]),
        "hdds_phase": lambda: hdds_phase_of(base["hdds"]),
        "ch_phase": lambda: ch_phase_of(base["fcs"], base["hhs"], base["rcsi"], base["lcs_max"], t),
        "food_expenditure_category": lambda: food_expenditure_category_of(base["food_expenditure_share"]),
        "economic_capacity": lambda: economic_capacity_of(base["expenditure_per_person"], p.meb_per_person,
                                                          p.smeb_per_person),
    }
    return {name: make[name]() for name in DERIVED_FROM if name in names}


def base_needed(names: set[str]) -> set[str]:
    """The base indicators that `names` (base or derived) need."""
    return {n for n in names if n in BASE} | {b for n in names for b in DERIVED_FROM.get(n, ())}


def indicator_fields() -> list[Field]:
    """The indicators as model fields (source "indicator")."""
    return [Field(i.name, i.kind, "indicator", i.label, choices=i.choices) for i in INDICATORS]
