"""Programmes: create, change while a draft, activate, close, cancel, list, and their figures.

A programme belongs to the organisation of whoever creates it; only that organisation (and those
who see every household) sees it. Its entitlement formula is checked when it is set. Every
change is audited; changes of state go through `assistance.states`.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.assistance import states, vocab
from jatigi.assistance.formula import Formula, FormulaError, load_formula
from jatigi.assistance.models import Cycle, Enrolment, Payment, PaymentProvider, Programme
from jatigi.assistance.policies import get_programme, require_change, visible_programmes
from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.changes import bump
from jatigi.core.db import utcnow
from jatigi.core.errors import Conflict, ValidationFailed
from jatigi.core.i18n import N_, _
from jatigi.places.models import AdminUnit

MAX_MONTHS = 36
_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")
FIELDS = ("name", "donor", "sector", "objective", "modality", "start_month", "planned_months", "area_pcode",
          "provider", "formula")
FIELD_LABELS = {
    "name": N_("Name"), "donor": N_("Donor"), "sector": N_("Sector"), "objective": N_("Objective"),
    "modality": N_("Modality"), "start_month": N_("First month"), "planned_months": N_("Planned months"),
    "area_pcode": N_("Area"), "provider": N_("Payment provider"), "formula": N_("Entitlement formula"),
}
# Cycles whose money is on its way: a programme is not closed or cancelled under them.
IN_FLIGHT = ("approved", "sent")


class ProgrammeInvalid(ValidationFailed):
    """Bad values for a programme: `problems` maps each field to what is wrong with it."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(_("{field}: {message}", field=_(FIELD_LABELS.get(name, name)), message=message)
                                   for name, message in problems.items()))
        self.problems = problems


def parse_month(value: str | date) -> date:
    """The first day of a month written YYYY-MM (or any day of it)."""
    if isinstance(value, date):
        return value.replace(day=1)
    match = _MONTH.match(value or "")
    if not match or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2100:
        raise ValueError(value)
    return date(int(match.group(1)), int(match.group(2)), 1)


def add_months(first: date, months: int) -> date:
    """The first day of the month `months` after `first`."""
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def formula_of(programme: Programme) -> Formula:
    return load_formula(programme.formula)


def _provider_id(session: Session, name: str) -> int | None:
    """The provider called `name` (the shipped ones are added first when the payments part can)."""
    if importlib.util.find_spec("jatigi.assistance.providers") is not None:
        ensure = getattr(importlib.import_module("jatigi.assistance.providers"), "ensure_shipped", None)
        if ensure is not None:
            ensure(session)
    return session.scalar(sa.select(PaymentProvider.id).where(PaymentProvider.name == name.strip(),
                                                              PaymentProvider.active.is_(True)))


def _clean(session: Session, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Checked column values for the given fields, and the problems by field."""
    problems: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for name, raw in values.items():
        value = raw.strip() if isinstance(raw, str) else raw
        if name in ("name", "donor", "objective"):
            if name == "name" and not value:
                problems[name] = _("Give the programme a name.")
            elif value and len(value) > (2000 if name == "objective" else 200):
                problems[name] = _("At most {n} characters.", n=2000 if name == "objective" else 200)
            clean[name] = value or None
        elif name in ("sector", "modality"):
            codes = vocab.SECTORS if name == "sector" else vocab.MODALITIES
            if value not in codes:
                problems[name] = _("{value} is not accepted; accepted: {accepted}.", value=value or "—",
                                   accepted=", ".join(codes))
            clean[name] = value
        elif name == "start_month":
            try:
                clean[name] = parse_month(value)
            except (ValueError, TypeError):
                problems[name] = _("Write the first month as YYYY-MM, such as 2025-03 (not {value}).",
                                   value=value or "—")
        elif name == "planned_months":
            try:
                months = int(value)
            except (ValueError, TypeError):
                months = 0
            if not 1 <= months <= MAX_MONTHS:
                problems[name] = _("From 1 to {max} months (not {value}).", max=MAX_MONTHS, value=value or "—")
            clean[name] = months
        elif name == "area_pcode":
            pcode = (value or "").upper() or None
            if pcode and session.get(AdminUnit, pcode) is None:
                problems[name] = _("No place has the P-code {pcode}.", pcode=pcode)
            clean[name] = pcode
        elif name == "provider":
            provider_id = _provider_id(session, value) if value else None
            if value and provider_id is None:
                known = session.scalars(sa.select(PaymentProvider.name).where(PaymentProvider.active.is_(True))
                                        .order_by(PaymentProvider.name)).all()
                problems[name] = _("No payment provider {name}; known: {known}.", name=value,
                                   known=", ".join(known) or "—")
            clean["provider_id"] = provider_id
        elif name == "formula":
            try:
                load_formula(value or "")
            except FormulaError as exc:
                problems[name] = str(exc)
            clean[name] = value
        else:
            problems[name] = _("This field cannot be set: {field}.", field=name)
    return clean, problems


def _next_code(session: Session) -> str:
    codes = session.scalars(sa.select(Programme.code).where(Programme.code.like("PRG-%"))).all()
    numbers = [int(code[4:]) for code in codes if code[4:].isascii() and code[4:].isdigit()]
    return f"PRG-{max(numbers, default=0) + 1:04d}"


def create_programme(*, session: Session, actor: Actor, name: str, sector: str, modality: str,
                     start_month: str | date, planned_months: int | str, formula: str, donor: str | None = None,
                     objective: str | None = None, area_pcode: str | None = None, provider: str | None = None,
                     org_id: int | None = None) -> Programme:
    """A new programme, in draft, for the actor's organisation (or `org_id`, for one who acts for it)."""
    actor.require(Permission.ASSISTANCE_PROGRAMME_WRITE)
    target = org_id or actor.org_id
    if target is None:
        raise ValidationFailed(_("Say which organisation runs this programme."))
    if not actor.acts_for(target):
        raise ValidationFailed(_("You may create programmes only for your own organisation."))
    clean, problems = _clean(session, {"name": name, "donor": donor, "sector": sector, "objective": objective,
                                       "modality": modality, "start_month": start_month,
                                       "planned_months": planned_months, "area_pcode": area_pcode,
                                       "provider": provider, "formula": formula})
    if problems:
        raise ProgrammeInvalid(problems)
    now = utcnow()
    programme = Programme(code=_next_code(session), org_id=target, currency=vocab.CURRENCY, state="draft",
                          created_at=now, created_by=actor.user_id, updated_at=now, updated_by=actor.user_id,
                          version=1, **clean)
    session.add(programme)
    session.flush()
    states.record_transition(session, actor, "programme", programme.id, None, "draft",
                             detail={"code": programme.code})
    bump(session, "assistance")
    return programme


def update_programme(*, session: Session, actor: Actor, ref: str | int, changes: dict[str, Any],
                     expected_version: int | None = None) -> Programme:
    """Change a draft programme's fields; an active or ended programme keeps what it was run with."""
    programme = get_programme(session, actor, ref)
    require_change(actor, programme, Permission.ASSISTANCE_PROGRAMME_WRITE)
    session.refresh(programme, with_for_update=True)
    if programme.state != "draft":
        raise Conflict(_("Programme {code} is {state}: only a draft programme can be changed.",
                         code=programme.code, state=states.state_label("programme", programme.state).lower()))
    if expected_version is not None and expected_version != programme.version:
        raise Conflict(_("Programme {code} was changed by someone else (version {v}); reload it.",
                         code=programme.code, v=programme.version))
    clean, problems = _clean(session, changes)
    if problems:
        raise ProgrammeInvalid(problems)
    changed = sorted(key for key, value in clean.items() if getattr(programme, key) != value)
    if not changed:
        return programme
    for key in changed:
        setattr(programme, key, clean[key])
    programme.version += 1
    programme.updated_at = utcnow()
    programme.updated_by = actor.user_id
    audit.record(session, actor, "assistance.programme.update", "programme", programme.id,
                 {"code": programme.code, "fields": changed})
    bump(session, "assistance")
    return programme


def _move(session: Session, actor: Actor, ref: str | int, to: str, reason: str | None) -> Programme:
    programme = get_programme(session, actor, ref)
    require_change(actor, programme, Permission.ASSISTANCE_PROGRAMME_WRITE)
    session.refresh(programme, with_for_update=True)
    states.check_move("programme", programme.state, to)
    if to in ("closed", "cancelled"):
        busy = session.scalars(sa.select(Cycle.number).where(Cycle.programme_id == programme.id,
                                                             Cycle.state.in_(IN_FLIGHT)).order_by(Cycle.number)).all()
        if busy:
            raise Conflict(_("Programme {code} has cycles approved or sent ({numbers}): reconcile or cancel them "
                             "first.", code=programme.code, numbers=", ".join(str(n) for n in busy)))
    if to == "cancelled":
        from jatigi.assistance.cycles import cancel_open_cycles  # cycles depend on programmes, not the reverse

        cancel_open_cycles(session, actor, programme, reason or "")
    states.move(session, actor, "programme", programme, to, reason=reason, detail={"code": programme.code})
    programme.version += 1
    programme.updated_at = utcnow()
    programme.updated_by = actor.user_id
    bump(session, "assistance")
    return programme


def activate(*, session: Session, actor: Actor, ref: str | int) -> Programme:
    return _move(session, actor, ref, "active", None)


def close(*, session: Session, actor: Actor, ref: str | int, reason: str | None = None) -> Programme:
    return _move(session, actor, ref, "closed", (reason or "").strip() or None)


def cancel(*, session: Session, actor: Actor, ref: str | int, reason: str) -> Programme:
    if not (reason or "").strip():
        raise ValidationFailed(_("Say why the programme is cancelled."))
    return _move(session, actor, ref, "cancelled", reason.strip())


@dataclass(frozen=True)
class ProgrammeFigures:
    programme: Programme
    enrolled: int  # enrolled and not exited
    exited: int
    cycles: int
    paid: int  # FCFA paid so far


def figures(session: Session, programmes: list[Programme]) -> list[ProgrammeFigures]:
    """Households enrolled and exited, cycles and amounts paid, for each programme (a few grouped queries)."""
    ids = [p.id for p in programmes]
    if not ids:
        return []
    e = Enrolment.__table__.c
    enrolled = {pid: (int(active or 0), int(gone or 0)) for pid, active, gone in session.execute(
        sa.select(e.programme_id, sa.func.sum(sa.case((e.exited_at.is_(None), 1), else_=0)),
                  sa.func.sum(sa.case((e.exited_at.is_not(None), 1), else_=0)))
        .where(e.programme_id.in_(ids)).group_by(e.programme_id))}
    cycles = dict(session.execute(sa.select(Cycle.programme_id, sa.func.count()).where(Cycle.programme_id.in_(ids))
                                  .group_by(Cycle.programme_id)).all())
    paid = dict(session.execute(sa.select(Payment.programme_id, sa.func.sum(Payment.amount_paid))
                                .where(Payment.programme_id.in_(ids), Payment.state == "paid")
                                .group_by(Payment.programme_id)).all())
    return [ProgrammeFigures(p, *enrolled.get(p.id, (0, 0)), int(cycles.get(p.id, 0)), int(paid.get(p.id) or 0))
            for p in programmes]


def list_programmes(*, session: Session, actor: Actor, state: str | None = None,
                    limit: int = 200) -> list[ProgrammeFigures]:
    """The programmes the actor may see, the newest first, with their figures."""
    actor.require(Permission.ASSISTANCE_PROGRAMME_READ)
    query = sa.select(Programme).where(*visible_programmes(actor))
    if state:
        if state not in vocab.PROGRAMME_STATES:
            raise ValidationFailed(_("{value} is not accepted; accepted: {accepted}.", value=state,
                                     accepted=", ".join(vocab.PROGRAMME_STATES)))
        query = query.where(Programme.state == state)
    found = list(session.scalars(query.order_by(Programme.id.desc()).limit(max(1, min(limit, 1000)))))
    return figures(session, found)


def read_programme(*, session: Session, actor: Actor, ref: str | int) -> ProgrammeFigures:
    programme = get_programme(session, actor, ref)
    audit.record(session, actor, "assistance.programme.read", "programme", programme.id, {"code": programme.code})
    return figures(session, [programme])[0]


def cycles_of(session: Session, programme: Programme) -> list[Cycle]:
    return list(session.scalars(sa.select(Cycle).where(Cycle.programme_id == programme.id).order_by(Cycle.number)))
