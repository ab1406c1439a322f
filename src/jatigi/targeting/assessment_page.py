"""What the pages show of assessments: the household page's section, and the form's fields.

The section lists each assessment with its key indicators, formatted in the reader's language;
an indicator whose module was not asked says "Not assessed", never 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from jatigi.core.authz import Actor, Permission
from jatigi.core.i18n import N_, _, day, money, number
from jatigi.registry.models import Household
from jatigi.targeting import inputs as I  # noqa: N812
from jatigi.targeting import survey
from jatigi.targeting.assessments import STORED, AssessmentRow, household_assessments
from jatigi.targeting.indicators import CATEGORY_LABELS
from jatigi.targeting.params import registry_params

SOURCES = {"web": N_("entered in the web form"), "import": N_("imported from a file"), "api": N_("sent through the API")}
NOT_ASSESSED = N_("Not assessed")


@dataclass
class ShownAssessment:
    id: int
    version: int
    when: str
    by: str
    facts: list[tuple[str, str | None]]  # (label, value); None: not assessed


@dataclass
class AssessmentsSection:
    code: str
    may_record: bool
    meb_set: bool
    items: list[ShownAssessment] = field(default_factory=list)


def _category(value: str | None) -> str | None:
    return None if value is None else _(CATEGORY_LABELS.get(value, value))


def _shown(value: Any, show: Callable[[Any], str]) -> str | None:
    return None if value is None else show(value)


def _facts(row: AssessmentRow, meb_set: bool) -> list[tuple[str, str | None]]:
    i = row.indicators
    facts: list[tuple[str, str | None]] = [
        (_("Food consumption score"), _shown(i["fcs"], lambda v: _(
            "{score} ({group})", score=number(round(v, 1)), group=_category(i["fcs_category"])))),
        (_("Reduced coping strategies index"), _shown(i["rcsi"], lambda v: _(
            "{score} (phase {phase})", score=number(v), phase=i["rcsi_phase"]))),
        (_("Household hunger (HHS phase)"), _shown(i["hhs_phase"], lambda v: _("Phase {phase}", phase=v))),
        (_("Household dietary diversity score"), _shown(i["hdds"], lambda v: _(
            "{score} of 12 food groups", score=v))),
        (_("Most severe livelihood coping"), _category(i["lcs_max"])),
        (_("Household phase (Cadre Harmonisé scale)"), _shown(i["ch_phase"], lambda v: _("Phase {phase}", phase=v))),
        (_("Food expenditure share"), _shown(i["food_expenditure_share"], lambda v: f"{number(round(v))}\u00a0%")),
        (_("Monthly expenditure per person"), _shown(i["expenditure_per_person"], lambda v: money(round(v)))),
    ]
    if meb_set:
        facts.append((_("Economic capacity against the MEB"), _category(i["economic_capacity"])))
    return facts


def _by(row: AssessmentRow) -> str:
    source = _(SOURCES.get(row.source, row.source))
    if row.enumerator:
        return _("By {enumerator}, {source}", enumerator=row.enumerator, source=source)
    return source[:1].upper() + source[1:]


def assessments_for_page(session: Session, actor: Actor, hh: Household) -> AssessmentsSection:
    """The household page's "Assessments" section (the page has already checked the household is visible)."""
    params = registry_params()
    rows = household_assessments(session=session, actor=actor, hh=hh, params=params)
    meb_set = params.meb_per_person is not None
    return AssessmentsSection(
        code=hh.code, meb_set=meb_set,
        may_record=actor.can(Permission.TARGETING_ASSESSMENT_WRITE) and actor.acts_for(hh.org_id),
        items=[ShownAssessment(r.id, r.version, day(r.assessed_on), _by(r), _facts(r, meb_set)) for r in rows])


# ---- the form -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    widget: str  # "number", "radio" or "select"
    hint: str
    minimum: float | None
    maximum: float | None
    choices: dict[int, str] | None


def _widget(var: I.InputVar) -> str:
    if var.kind == "yesno":
        return "radio"
    return "select" if var.choices is not None else "number"


def form_modules() -> list[tuple[str, list[FormField]]]:
    """(module legend, its fields) in the order of the questionnaire; hints say what is accepted."""
    out: dict[str, list[FormField]] = {}
    for var in STORED.values():
        out.setdefault(var.module, []).append(FormField(
            var.name, var.label, _widget(var), survey.accepted_text(var), var.minimum, var.maximum, var.choices))
    return [(I.MODULES[module], fields) for module, fields in out.items()]


def not_assessed() -> str:
    return _(NOT_ASSESSED)
