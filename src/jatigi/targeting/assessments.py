"""Household assessments: record, correct, delete, and read them with their indicators.

An assessment is written only by staff of the organisation that registered the household, with
the permission to write assessments. Every value is checked against what its WFP variable accepts
(`inputs`, `survey.convert`); one problem and nothing is written, every problem named with its
field, its value and what is accepted. A module left entirely empty is "not assessed" (NULL),
never 0; a module answered in part is refused, since its indicator could not be computed.
Indicators are never stored: they are computed in SQL when read (`indicators.all_indicators`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.changes import bump
from jatigi.core.db import utcnow
from jatigi.core.errors import Forbidden, NotFound, ValidationFailed
from jatigi.core.i18n import _
from jatigi.registry.models import Household
from jatigi.registry.problems import Problem
from jatigi.registry.service import VersionConflict, get_visible
from jatigi.registry.validate import parse_date
from jatigi.targeting import inputs as I  # noqa: N812
from jatigi.targeting import survey
from jatigi.targeting.indicators import (
    INDICATORS,
    IndicatorParams,
    base_indicators,
    base_needed,
    derived_indicators,
)
from jatigi.targeting.params import registry_params
from jatigi.targeting.tables import STORED_INPUTS, Assessment, assessments

STORED: dict[str, I.InputVar] = {v.name: v for v in STORED_INPUTS}
_STORED_LOWER = {name.lower(): name for name in STORED}
# Modules whose indicator needs every one of these answers: all of them, or none.
WHOLE_MODULES = {module: names for module, names in survey.REQUIRED.items() if module != "disability"}
EARLIEST = date(2000, 1, 1)
MAX_ENUMERATOR = 120
_LCS_NAME = re.compile(r"^Lcs(?:EN|FS|R)?_(stress|crisis|em)_(\w+)$", re.IGNORECASE)


class AssessmentRefused(ValidationFailed):
    """Values with problems, each naming its field, its value and what is accepted."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(
            _("{column}: {message} (value: {value})", column=p.column, message=p.message, value=p.value)
            for p in problems))
        self.problems = problems


def stored_input(header: str) -> I.InputVar | None:
    """The stored input a column or field names: WFP names in any case, after any Kobo group prefix
    ("fcs/FCSStap"), with the other spellings of `inputs.lookup` and of LCS lists (LcsEN_stress_…)."""
    name = header.strip().rsplit("/", 1)[-1]
    var = I.lookup(name) if name else None
    if var is not None and var.name in STORED:
        return STORED[var.name]
    match = _LCS_NAME.match(name)
    if match:
        found = _STORED_LOWER.get(f"lcs_{match.group(1)}_{match.group(2)}".lower())
        return STORED[found] if found else None
    return None


def _accepted(var: I.InputVar) -> str:
    return survey.accepted_text(var)


def check_answers(answers: Mapping[str, Any], *, sheet: str = "form", row: int = 1,
                  columns: Mapping[str, str] | None = None) -> tuple[dict[str, int | None], list[Problem]]:
    """Answers keyed by WFP name, checked: (a value or None for every stored input, problems).
    `columns` gives the name each input has where it came from (a file's header), for messages."""
    shown = columns or {}
    clean: dict[str, int | None] = dict.fromkeys(STORED)
    problems: list[Problem] = []
    refused: set[str] = set()

    def add(name: str, value: object, message: str) -> None:
        refused.add(name)
        problems.append(Problem(sheet, row, shown.get(name, name), "" if value is None else str(value), message))

    for name, cell in answers.items():
        var = STORED[name]
        value, reason = survey.convert(var, cell)
        if reason == "number":
            add(name, cell, _("Not a number; accepted: {accepted}.", accepted=_accepted(var)))
        elif reason:
            add(name, cell, _("Not accepted; accepted: {accepted}.", accepted=_accepted(var)))
        elif value is not None:
            clean[name] = round(value)
    for module, names in WHOLE_MODULES.items():
        if any(clean[n] is not None or n in refused for n in names):
            for n in names:
                if clean[n] is None and n not in refused:
                    add(n, None, _("Missing: other answers of \"{module}\" are given; give this one too, or leave "
                                   "the whole module empty.", module=_(I.MODULES[module])))
    for question, frequency in I.HHS_QUESTIONS:
        if clean[question] == 1 and clean[frequency] is None and frequency not in refused:
            add(frequency, None, _("Say how often, since the answer is yes; accepted: {accepted}.",
                                   accepted=_accepted(STORED[frequency])))
        elif clean[question] != 1 and clean[frequency] is not None and question not in refused:
            add(frequency, clean[frequency], _("Leave it empty: how often is asked only when the answer is yes."))
    return clean, problems


def check_day(value: Any, *, sheet: str = "form", row: int = 1, column: str = "assessed_on",
              today: date | None = None) -> tuple[date | None, Problem | None]:
    """The date of an assessment: required, as a date or as YYYY-MM-DD or DD/MM/YYYY."""
    def problem(message: str) -> tuple[None, Problem]:
        return None, Problem(sheet, row, column, "" if value is None else str(value), message)

    if isinstance(value, datetime):
        found: date | None = value.date()
    elif isinstance(value, date):
        found = value
    elif value is None or not str(value).strip():
        return problem(_("The date of the assessment is required; accepted: YYYY-MM-DD or DD/MM/YYYY."))
    else:
        found = parse_date(str(value))
    if found is None:
        return problem(_("Not a date; accepted: YYYY-MM-DD or DD/MM/YYYY."))
    if found > (today or date.today()):
        return problem(_("A date in the future is not accepted."))
    if found < EARLIEST:
        return problem(_("A date before {date} is not accepted.", date=EARLIEST.isoformat()))
    return found, None


def check_enumerator(value: Any, *, sheet: str = "form", row: int = 1,
                     column: str = "enumerator") -> tuple[str | None, Problem | None]:
    text = "" if value is None else str(value).strip()
    if len(text) > MAX_ENUMERATOR:
        return None, Problem(sheet, row, column, text[:80], _("At most {n} characters.", n=MAX_ENUMERATOR))
    return text or None, None


def check_assessment(answers: Mapping[str, Any], assessed_on: Any, enumerator: Any, *, sheet: str = "form",
                     row: int = 1) -> tuple[dict[str, int | None], date | None, str | None, list[Problem]]:
    """Everything of one assessment checked: (answers, date, enumerator, problems)."""
    unknown = sorted(n for n in answers if n not in STORED)
    problems = [Problem(sheet, row, n, str(answers[n]), _("Unknown field; accepted: the WFP variable names of "
                                                          "docs/TARGETING.md, such as FCSStap.")) for n in unknown]
    clean, found = check_answers({n: v for n, v in answers.items() if n in STORED}, sheet=sheet, row=row)
    day, day_problem = check_day(assessed_on, sheet=sheet, row=row)
    who, who_problem = check_enumerator(enumerator, sheet=sheet, row=row)
    problems += [p for p in (day_problem, *found, who_problem) if p is not None]
    if not problems and all(v is None for v in clean.values()):
        problems.append(Problem(sheet, row, "", "", _("Nothing assessed: give the answers of at least one module.")))
    return clean, day, who, problems


# ---- writing --------------------------------------------------------------------------------


def writable_household(session: Session, actor: Actor, code: str) -> Household:
    """The household, if the actor may record its assessments; else 403 (or 404 if not visible)."""
    actor.require(Permission.TARGETING_ASSESSMENT_WRITE)
    hh = get_visible(session, actor, code)
    if not actor.acts_for(hh.org_id):
        raise Forbidden(_("Only the organisation that registered this household may record its assessments."))
    return hh


def record_assessment(*, session: Session, actor: Actor, code: str, answers: Mapping[str, Any], assessed_on: Any,
                      enumerator: Any = None, source: str = "web") -> Assessment:
    hh = writable_household(session, actor, code)
    clean, day, who, problems = check_assessment(answers, assessed_on, enumerator)
    if problems:
        raise AssessmentRefused(problems)
    a = Assessment(household_id=hh.id, org_id=hh.org_id, assessed_on=day, source=source, enumerator=who,
                   version=1, created_at=utcnow(), created_by=actor.user_id, **clean)
    session.add(a)
    session.flush()
    audit.record(session, actor, "assessment.create", "household", hh.code,
                 {"assessment": a.id, "source": source, "modules": assessed_modules(clean)})
    bump(session, "registry")
    return a


def _assessment_of(session: Session, hh: Household, assessment_id: int, lock: bool = True) -> Assessment:
    a = session.scalar(sa.select(Assessment).where(Assessment.id == assessment_id,
                                                   Assessment.household_id == hh.id,
                                                   Assessment.deleted_at.is_(None)))
    if a is None:
        raise NotFound(_("Household {code} has no assessment {id}.", code=hh.code, id=assessment_id))
    if lock:  # (PostgreSQL) so that two corrections cannot both pass the version check
        session.refresh(a, with_for_update=True)
    return a


def assessment_to_change(*, session: Session, actor: Actor, code: str,
                         assessment_id: int) -> tuple[Household, Assessment]:
    """The household and its assessment, if the actor may correct it (the correction form, which
    shows every answer: audited as a read)."""
    hh = writable_household(session, actor, code)
    found = _assessment_of(session, hh, assessment_id, lock=False)
    audit.record(session, actor, "assessment.read", "household", hh.code, {"assessments": [found.id]})
    return hh, found


def _check_version(a: Assessment, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != a.version:
        raise VersionConflict(_("This assessment was changed by someone else (version {v}); reload it.",
                                v=a.version))


def correct_assessment(*, session: Session, actor: Actor, code: str, assessment_id: int,
                       answers: Mapping[str, Any], assessed_on: Any, enumerator: Any = None,
                       expected_version: int | None = None) -> Assessment:
    """Replace an assessment's answers (all of them: an input left out becomes empty)."""
    hh = writable_household(session, actor, code)
    a = _assessment_of(session, hh, assessment_id)
    _check_version(a, expected_version)
    clean, day, who, problems = check_assessment(answers, assessed_on, enumerator)
    if problems:
        raise AssessmentRefused(problems)
    new = {**clean, "assessed_on": day, "enumerator": who}
    changed = sorted(name for name, value in new.items() if getattr(a, name) != value)
    if not changed:
        return a
    for name in changed:
        setattr(a, name, new[name])
    a.version += 1
    a.updated_at = utcnow()
    audit.record(session, actor, "assessment.update", "household", hh.code,
                 {"assessment": a.id, "fields": changed})
    bump(session, "registry")
    session.flush()
    return a


def delete_assessment(*, session: Session, actor: Actor, code: str, assessment_id: int,
                      expected_version: int | None = None) -> Assessment:
    """Soft delete: no longer listed nor scored; kept for the audit trail."""
    hh = writable_household(session, actor, code)
    a = _assessment_of(session, hh, assessment_id)
    _check_version(a, expected_version)
    a.deleted_at = utcnow()
    a.version += 1
    audit.record(session, actor, "assessment.delete", "household", hh.code,
                 {"assessment": a.id, "assessed_on": a.assessed_on.isoformat()})
    bump(session, "registry")
    session.flush()
    return a


def assessed_modules(answers: Mapping[str, int | None]) -> list[str]:
    return sorted({STORED[n].module for n, v in answers.items() if v is not None and n in STORED})


# ---- reading --------------------------------------------------------------------------------


@dataclass
class AssessmentRow:
    id: int
    assessed_on: date
    source: str
    enumerator: str | None
    version: int
    created_at: datetime
    answers: dict[str, int | None]
    indicators: dict[str, Any]
    size_from_registry: bool  # HHSize not asked: the household's member count was used


@lru_cache(maxsize=16)
def _select(params: IndicatorParams) -> sa.Select[Any]:
    """Every assessment of the household `:household_id`, newest first, with its indicators: the
    base indicators computed from the answers, then phases and categories from their columns
    (built once per set of parameters: the statement is large, and a page opens it every time)."""
    a, h = assessments, Household.__table__
    cols: dict[str, sa.ColumnElement[Any]] = {name: a.c[name] for name in STORED}
    # Household size not asked: the registry's count of members.
    cols["HHSize"] = sa.func.coalesce(a.c.HHSize, h.c.member_count)
    names = {i.name for i in INDICATORS}
    base = base_indicators(cols, base_needed(names))
    first = (sa.select(a, *(expr.label(name) for name, expr in base.items()))
             .join(h, h.c.id == a.c.household_id)
             .where(a.c.deleted_at.is_(None), a.c.household_id == sa.literal_column(":household_id"))
             .subquery("assessed"))
    derived = derived_indicators({name: first.c[name] for name in base}, names, params)
    return (sa.select(*first.c, *(expr.label(name) for name, expr in derived.items()))
            .order_by(first.c.assessed_on.desc(), first.c.id.desc()))


@lru_cache(maxsize=16)
def _statement(params: IndicatorParams, dialect: Dialect) -> sa.TextualSelect:
    """`_select` as SQL text with its constants written in: hundreds of them would otherwise be
    bound again on every page."""
    select = _select(params)
    sql = str(select.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    return sa.text(sql).columns(*(sa.column(str(c.key), c.type) for c in select.selected_columns))


def household_assessments(*, session: Session, actor: Actor, hh: Household,
                          params: IndicatorParams | None = None) -> list[AssessmentRow]:
    """The assessments of a household the actor has already been allowed to see, newest first."""
    chosen = params or registry_params()
    dialect = session.get_bind().dialect
    rows = session.execute(_statement(chosen, dialect), {"household_id": hh.id}).mappings().all()
    out = [AssessmentRow(
        id=r["id"], assessed_on=r["assessed_on"], source=r["source"], enumerator=r["enumerator"],
        version=r["version"], created_at=r["created_at"], answers={n: r[n] for n in STORED},
        indicators={i.name: r[i.name] for i in INDICATORS}, size_from_registry=r["HHSize"] is None,
    ) for r in rows]
    audit.record(session, actor, "assessment.read", "household", hh.code, {"assessments": [a.id for a in out]})
    return out


def assessments_of(*, session: Session, actor: Actor, code: str,
                   params: IndicatorParams | None = None) -> list[AssessmentRow]:
    """The assessments of a household the actor may see (else 404), with their indicators."""
    hh = get_visible(session, actor, code)
    return household_assessments(session=session, actor=actor, hh=hh, params=params)
