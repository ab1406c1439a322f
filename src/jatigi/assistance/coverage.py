"""Coverage and gaps: who was assisted, for how many months and how much, per area and population
group; which assessed needs no programme covered; and whose assistance ends while still vulnerable.

Computed set-wise over the households the reader may see. Assistance counts whichever
organisation paid it (a household assisted by a partner is covered), without naming the partner.
A need is the household's own priority needs as registered (rent also when it has rent arrears);
a programme covers the needs of its sector, and a multipurpose programme covers them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.assistance.models import Cycle, Enrolment, Payment, Programme
from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import NotFound, ValidationFailed
from jatigi.core.i18n import N_, _
from jatigi.places.service import names_of
from jatigi.registry.models import Household
from jatigi.registry.service import visibility
from jatigi.targeting.catalogue import registry_catalogue
from jatigi.targeting.expr_sql import Contains
from jatigi.targeting.model import load_model
from jatigi.targeting.runs import SCORES
from jatigi.targeting.simulate import vulnerable_categories
from jatigi.targeting.tables import ModelVersion, Run

# Need -> (the registry's priority-need code, the sectors whose programmes cover it).
NEEDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "rent": ("shelter", ("shelter", "multipurpose")),
    "food": ("food", ("food", "multipurpose")),
    "health": ("health", ("health", "multipurpose")),
    "education": ("education", ("education", "multipurpose")),
}
NEED_LABELS = {"rent": N_("Rent"), "food": N_("Food"), "health": N_("Health care"), "education": N_("Education")}
LEVELS = {1: 4, 2: 6}  # admin level -> length of its P-code (ML09, ML0901)


@dataclass
class Need:
    households: int = 0  # with this need
    uncovered: int = 0  # of which no programme of a covering sector paid in the period

    @property
    def share_uncovered(self) -> float | None:
        return self.uncovered / self.households if self.households else None


@dataclass
class CoverageRow:
    pcode: str | None
    area: str
    population_group: str
    households: int = 0
    enrolled: int = 0  # enrolled in a programme (not exited) during the period
    assisted: int = 0  # paid at least once in the period
    household_months: int = 0  # months paid, added over households
    amount_paid: int = 0
    needs: dict[str, Need] = field(default_factory=lambda: {n: Need() for n in NEEDS})

    @property
    def months_per_assisted(self) -> float | None:
        return self.household_months / self.assisted if self.assisted else None

    @property
    def share_assisted(self) -> float | None:
        return self.assisted / self.households if self.households else None


@dataclass
class Coverage:
    since: date
    until: date
    level: int
    rows: list[CoverageRow]
    total: CoverageRow


def _month_end(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def period(since: str | date, until: str | date | None = None) -> tuple[date, date]:
    """The first day of `since`'s month and the last day of `until`'s (or `since`'s): months given
    as YYYY-MM or dates. ValidationFailed for anything else or an empty period."""
    def month(value: str | date, name: str) -> date:
        if isinstance(value, date):
            return value.replace(day=1)
        try:
            year, mon = (int(part) for part in value.strip().split("-")[:2])
            return date(year, mon, 1)
        except (ValueError, TypeError):
            raise ValidationFailed(_("{field}: “{value}” is not a month; write it as YYYY-MM, such as 2013-10.",
                                     field=name, value=value)) from None

    start = month(since, "since")
    end = _month_end(month(until if until is not None else since, "until"))
    if end < start:
        raise ValidationFailed(_("The period ends ({until}) before it starts ({since}).", until=end.isoformat(),
                                 since=start.isoformat()))
    return start, end


def _paid_per_household(since: date, until: date) -> sa.Subquery:
    """Per household paid in the period: months paid, amount, and whether each need was covered."""
    p, c, pr = Payment.__table__.c, Cycle.__table__.c, Programme.__table__.c
    covered = [sa.func.max(sa.case((pr.sector.in_(sectors), 1), else_=0)).label(f"covers_{need}")
               for need, (_code, sectors) in NEEDS.items()]
    return (sa.select(p.household_id, sa.func.count(sa.distinct(c.period_start)).label("months"),
                      sa.func.sum(sa.func.coalesce(p.amount_paid, p.amount)).label("amount"), *covered)
            .select_from(Payment.__table__.join(Cycle.__table__, c.id == p.cycle_id)
                         .join(Programme.__table__, pr.id == p.programme_id))
            .where(p.state == "paid", c.period_start <= until, c.period_end >= since)
            .group_by(p.household_id).subquery("paid"))


def _enrolled(since: date, until: date) -> sa.Exists:
    e, pr = Enrolment.__table__.c, Programme.__table__.c
    return (sa.select(e.id).select_from(Enrolment.__table__.join(Programme.__table__, pr.id == e.programme_id))
            .where(e.household_id == Household.id, pr.state.in_(("active", "closed")),
                   sa.func.coalesce(e.exited_at, sa.literal(until)) >= since)
            .exists())


def _need(code: str) -> sa.ColumnElement[bool]:
    needs = Household.__table__.c.priority_needs
    found = sa.and_(needs.is_not(None), Contains(needs, f'"{code}"') > 0)
    if code == "shelter":
        return sa.or_(found, Household.rent_arrears_xof > 0)
    return found


def coverage(*, session: Session, actor: Actor, since: str | date, until: str | date | None = None,
             level: int = 1, place: str | None = None) -> Coverage:
    """Coverage and needs left uncovered per area (admin level 1 or 2) and population group."""
    actor.require(Permission.ASSISTANCE_PROGRAMME_READ)
    actor.require(Permission.REGISTRY_HOUSEHOLD_READ)
    if level not in LEVELS:
        raise ValidationFailed(_("level: {value} is not accepted; accepted: 1 (regions), 2 (cercles).", value=level))
    start, end = period(since, until)
    paid = _paid_per_household(start, end)
    area = sa.func.substr(Household.current_pcode, 1, LEVELS[level]).label("area")
    one = sa.literal(1)
    columns: list[Any] = [
        area, Household.population_group, sa.func.count().label("households"),
        sa.func.sum(sa.case((_enrolled(start, end), one), else_=0)).label("enrolled"),
        sa.func.count(paid.c.household_id).label("assisted"),
        sa.func.coalesce(sa.func.sum(paid.c.months), 0).label("household_months"),
        sa.func.coalesce(sa.func.sum(paid.c.amount), 0).label("amount_paid"),
    ]
    for need, (code, _sectors) in NEEDS.items():
        has = _need(code)
        columns.append(sa.func.sum(sa.case((has, one), else_=0)).label(f"need_{need}"))
        columns.append(sa.func.sum(sa.case((sa.and_(has, sa.func.coalesce(paid.c[f"covers_{need}"], 0) == 0), one),
                                           else_=0)).label(f"uncovered_{need}"))
    conditions = list(visibility(actor))
    if place:
        conditions.append(Household.current_pcode.startswith(place.strip().upper(), autoescape=True))
    query = (sa.select(*columns).select_from(sa.outerjoin(Household, paid, paid.c.household_id == Household.id))
             .where(*conditions).group_by(area, Household.population_group).order_by(area, Household.population_group))
    rows = session.execute(query).all()
    names = names_of(session=session, pcodes={r.area for r in rows})
    out = [_row(r, names.get(r.area, r.area or "")) for r in rows]
    total = CoverageRow(None, _("All areas"), "")
    for row in out:
        _add(total, row)
    return Coverage(start, end, level, out, total)


def _row(r: Any, area: str) -> CoverageRow:
    row = CoverageRow(r.area, area, r.population_group, int(r.households), int(r.enrolled or 0), int(r.assisted),
                      int(r.household_months), int(r.amount_paid))
    for need in NEEDS:
        row.needs[need] = Need(int(getattr(r, f"need_{need}") or 0), int(getattr(r, f"uncovered_{need}") or 0))
    return row


def _add(total: CoverageRow, row: CoverageRow) -> None:
    total.households += row.households
    total.enrolled += row.enrolled
    total.assisted += row.assisted
    total.household_months += row.household_months
    total.amount_paid += row.amount_paid
    for need, figures in row.needs.items():
        total.needs[need].households += figures.households
        total.needs[need].uncovered += figures.uncovered


# --- Continuity: assistance that ends while the household is still vulnerable -----------------------

def programme_end(programme: Programme) -> date:
    """The last day of the programme's last planned month."""
    months = programme.start_month.year * 12 + programme.start_month.month - 1 + programme.planned_months - 1
    return _month_end(date(months // 12, months % 12 + 1, 1))


@dataclass
class Continuity:
    programme_id: int
    code: str
    name: str
    ends_on: date
    enrolled: int  # enrolled and not exited
    rescored: int  # of whom scored in the latest run of the programme's model
    still_vulnerable: int  # of whom still in a vulnerable category there
    model: str | None  # the model's name, None for a programme not enrolled from a run
    run_id: int | None  # the latest run of that model the reader may see


def continuity(*, session: Session, actor: Actor, within_months: int = 2, today: date | None = None) -> list[Continuity]:
    """Active programmes of the reader's organisation whose planned end is at most `within_months`
    away (or past): how many of their households are still vulnerable in the latest run of the model
    that selected them."""
    actor.require(Permission.ASSISTANCE_PROGRAMME_READ)
    if not 0 <= within_months <= 36:
        raise ValidationFailed(_("within: {value} months is not accepted; give 0 to 36.", value=within_months))
    today = today or date.today()
    horizon = _month_end(date(today.year + (today.month - 1 + within_months) // 12,
                              (today.month - 1 + within_months) % 12 + 1, 1))
    query = sa.select(Programme).where(Programme.state == "active").order_by(Programme.code)
    if not actor.sees_all:
        query = query.where(Programme.org_id == (actor.org_id if actor.org_id is not None else -1))
    out = []
    for programme in session.scalars(query):
        ends = programme_end(programme)
        if ends > horizon:
            continue
        out.append(_continuity_of(session, actor, programme, ends))
    return out


def _continuity_of(session: Session, actor: Actor, programme: Programme, ends: date) -> Continuity:
    e = Enrolment.__table__.c
    enrolled = (e.programme_id == programme.id) & e.exited_at.is_(None)
    count = session.scalar(sa.select(sa.func.count()).select_from(Enrolment.__table__).where(enrolled)) or 0
    latest: tuple[str, int, str] | None = None
    if programme.targeting_run_id is not None:
        name = session.scalar(sa.select(ModelVersion.name).join(Run, Run.model_id == ModelVersion.id)
                              .where(Run.id == programme.targeting_run_id))
        runs = (sa.select(Run.id, ModelVersion.text).join(ModelVersion, ModelVersion.id == Run.model_id)
                .where(ModelVersion.name == name).order_by(Run.id.desc()).limit(1))
        if not actor.sees_all:
            runs = runs.where(Run.org_id == programme.org_id)
        found = session.execute(runs).first()
        if name is not None and found is not None:
            latest = (name, found.id, found.text)
    if latest is None:
        return Continuity(programme.id, programme.code, programme.name, ends, count, 0, 0, None, None)
    name, run_id, text = latest
    categories = _vulnerable(text)
    s = SCORES.c
    scored = (sa.select(sa.func.count(), sa.func.sum(sa.case(
        (sa.and_(s.excluded.is_(False), s.category.in_(categories)), 1), else_=0)))
        .select_from(Enrolment.__table__.join(SCORES, sa.and_(s.household_id == e.household_id, s.run_id == run_id)))
        .where(enrolled))
    rescored, vulnerable = session.execute(scored).one()
    return Continuity(programme.id, programme.code, programme.name, ends, count, int(rescored or 0),
                      int(vulnerable or 0), name, run_id)


def of_programme(*, session: Session, actor: Actor, programme: Programme) -> Continuity:
    """One programme's continuity figures, whatever its end (see `continuity`)."""
    actor.require(Permission.ASSISTANCE_PROGRAMME_READ)
    return _continuity_of(session, actor, programme, programme_end(programme))


def still_vulnerable(*, session: Session, actor: Actor, programme: Programme) -> tuple[Continuity, list[str]]:
    """The programme's continuity figures and the codes of its households still vulnerable in the
    latest run of its model; NotFound when it was not enrolled from a scoring run."""
    figures = of_programme(session=session, actor=actor, programme=programme)
    if figures.run_id is None:
        raise NotFound(_("Programme {code} was not enrolled from a scoring run: no latest run tells who is still "
                         "vulnerable.", code=programme.code))
    codes = still_vulnerable_households(session=session, actor=actor, programme=programme, run_id=figures.run_id,
                                        categories=categories_of(session, figures.run_id))
    return figures, codes


def _vulnerable(model_text: str) -> tuple[str, ...]:
    return vulnerable_categories(load_model(model_text, registry_catalogue()))


def categories_of(session: Session, run_id: int) -> tuple[str, ...]:
    """The categories the model of run `run_id` counts as vulnerable (all but its lowest)."""
    text = session.scalar(sa.select(ModelVersion.text).join(Run, Run.model_id == ModelVersion.id)
                          .where(Run.id == run_id))
    return _vulnerable(text) if text is not None else ()


def still_vulnerable_households(*, session: Session, actor: Actor, programme: Programme,
                                run_id: int, categories: tuple[str, ...]) -> list[str]:
    """The codes of the programme's enrolled households still vulnerable in run `run_id` (visible
    ones only): a list to enrol in the programme that follows."""
    actor.require(Permission.REGISTRY_HOUSEHOLD_READ)
    e, s = Enrolment.__table__.c, SCORES.c
    query = (sa.select(Household.code)
             .select_from(Enrolment.__table__.join(SCORES, sa.and_(s.household_id == e.household_id, s.run_id == run_id))
                          .join(Household, Household.id == e.household_id))
             .where(e.programme_id == programme.id, e.exited_at.is_(None), s.excluded.is_(False),
                    s.category.in_(categories), *visibility(actor))
             .order_by(Household.code))
    return list(session.scalars(query))
