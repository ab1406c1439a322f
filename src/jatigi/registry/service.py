"""The registry's services: who sees which households, reading, searching, editing, deleting.

Every list, search, export and summary starts from `visible_households`, so that a user sees
only what their organisation registered or what is shared with it under an agreement. Every
read of a household and every change leaves an audit event; every change keeps the previous
state in `record_versions`.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.cache import audience, cached
from jatigi.core.changes import bump
from jatigi.core.config import get_settings
from jatigi.core.crypto import keyring, normalise_phone
from jatigi.core.db import utcnow
from jatigi.core.errors import NotFound, ValidationFailed
from jatigi.core.i18n import _
from jatigi.places.models import AdminUnit
from jatigi.registry import limits
from jatigi.registry.models import (
    Consent,
    Household,
    Movement,
    Person,
    RecordVersion,
    SeparatedRelative,
)
from jatigi.registry.records import HouseholdRecord
from jatigi.registry.text import name_key
from jatigi.registry.validate import Checker, Context, RawRow
from jatigi.registry.writer import write_households

SEARCH_LIMIT = 50


def visibility(actor: Actor) -> list[sa.ColumnElement[bool]]:
    """The SQL conditions that keep an actor to the households they may see."""
    conds: list[sa.ColumnElement[bool]] = [Household.deleted_at.is_(None)]
    if actor.sees_all:
        return conds
    partners = sorted(actor.visible_org_ids - {actor.org_id})
    own = Household.org_id == (actor.org_id if actor.org_id is not None else -1)
    if partners:
        # An agreement opens a partner's households only where the household consented to sharing.
        conds.append(sa.or_(own, sa.and_(Household.org_id.in_(partners), Household.sharing_consent.is_(True))))
    else:
        conds.append(own)
    return conds


def visible_households(actor: Actor) -> sa.Select[Any]:
    actor.require(Permission.REGISTRY_HOUSEHOLD_READ)
    return sa.select(Household).where(*visibility(actor))


def get_visible(session: Session, actor: Actor, code: str) -> Household:
    """The household with this code, if the actor may see it; else NotFound."""
    hh = session.scalar(visible_households(actor).where(Household.code == code.strip().upper()))
    if hh is None:
        raise NotFound(_("No household {code} that you may see.", code=code))
    return hh


@dataclass
class HouseholdDetail:
    household: Household
    members: list[Person]
    relatives: list[SeparatedRelative]
    movements: list[Movement]
    consents: list[Consent]
    phone: str | None
    member_phones: dict[int, str | None]
    whereabouts: dict[int, str | None]


# The parts of a household page, built once (building a statement costs as much as running it).
_OF_HOUSEHOLD: sa.BindParameter[int] = sa.bindparam("household_id")
_MEMBERS = (sa.select(Person).where(Person.household_id == _OF_HOUSEHOLD, Person.deleted_at.is_(None))
            .order_by(Person.line_no))
_RELATIVES = sa.select(SeparatedRelative).where(SeparatedRelative.household_id == _OF_HOUSEHOLD)
_MOVEMENTS = sa.select(Movement).where(Movement.household_id == _OF_HOUSEHOLD).order_by(Movement.moved_on, Movement.id)
_CONSENTS = sa.select(Consent).where(Consent.household_id == _OF_HOUSEHOLD).order_by(Consent.recorded_on, Consent.id)


def get_household(*, session: Session, actor: Actor, code: str) -> HouseholdDetail:
    hh = get_visible(session, actor, code)
    keys = keyring()
    of = {"household_id": hh.id}
    members = list(session.scalars(_MEMBERS, of))
    relatives = list(session.scalars(_RELATIVES, of))
    movements = list(session.scalars(_MOVEMENTS, of))
    consents = list(session.scalars(_CONSENTS, of))
    opened = sealed_fields_opened(actor, hh, consents)
    audit.record(session, actor, "household.read", "household", hh.code, {"opened": opened} if opened else None)
    phones = "phone" in opened
    return HouseholdDetail(
        household=hh, members=members, relatives=relatives, movements=movements, consents=consents,
        phone=keys.open(hh.phone_sealed) if phones else None,
        member_phones={p.id: keys.open(p.phone_sealed) if phones else None for p in members},
        whereabouts={r.id: keys.open(r.whereabouts_sealed) if "whereabouts" in opened else None
                     for r in relatives},
    )


def sealed_fields_opened(actor: Actor, hh: Household, consents: list[Consent]) -> list[str]:
    """Which sealed fields this actor may read: only the registering organisation's staff with the
    permission, and only for the purposes the household consented to (contact, tracing)."""
    if not actor.can(Permission.REGISTRY_HOUSEHOLD_READ_SENSITIVE):
        return []
    if not actor.acts_for(hh.org_id):
        return []
    given = consented(consents)
    return [name for name, purpose in (("phone", "contact"), ("whereabouts", "tracing")) if purpose in given]


def deciding_consents(consents: list[Consent]) -> dict[str, Consent]:
    """The record that decides each purpose: the latest recorded (by date, then by entry), so
    that a new record replaces an earlier one and a withdrawal is not undone by an older one."""
    latest: dict[str, Consent] = {}
    for c in sorted(consents, key=lambda c: (c.recorded_on, c.id or 0)):
        latest[c.purpose] = c
    return latest


def consented(consents: list[Consent]) -> set[str]:
    """The purposes a household consents to now: its deciding record is given and not withdrawn."""
    return {p for p, c in deciding_consents(consents).items() if c.given and c.withdrawn_on is None}


@dataclass
class SearchHit:
    code: str
    population_group: str
    current_pcode: str
    current_name: str | None
    head_name: str | None
    member_count: int
    org_id: int


@dataclass
class SearchResult:
    hits: list[SearchHit] = field(default_factory=list)
    total: int = 0


def _prefix(column: Any, term: str) -> sa.ColumnElement[bool]:
    # The range lets SQLite and PostgreSQL use the index (the columns compare bytewise, see
    # `code_string`); LIKE keeps the meaning exact.
    return sa.and_(column >= term, column < term + "\U0010ffff", column.like(term + "%"))


def search(*, session: Session, actor: Actor, q: str | None = None, phone: str | None = None,
           pcode: str | None = None, population_group: str | None = None,
           limit: int = SEARCH_LIMIT, offset: int = 0) -> SearchResult:
    """Households by name (any member, prefixes of given or family names), phone or P-code."""
    actor.require(Permission.REGISTRY_HOUSEHOLD_READ)
    limit = max(1, min(limit, 500))
    conds = visibility(actor)
    if q and q.strip():
        terms = name_key(q).split()[:4]
        if not terms:
            raise ValidationFailed(_("Search for a name with letters or digits."))
        person_match = sa.select(Person.household_id).where(
            Person.deleted_at.is_(None),
            *[sa.or_(_prefix(Person.given_key, t), _prefix(Person.family_key, t)) for t in terms])
        conds.append(Household.id.in_(person_match))
    if phone and phone.strip():
        digits = normalise_phone(phone)
        if digits is None or not 8 <= len(digits) <= 15:
            raise ValidationFailed(_("{value} is not a phone number; accepted: 8 digits, or +223 and 8 digits.",
                                     value=phone))
        index = keyring().index(digits)
        conds.append(sa.or_(
            Household.phone_index == index,
            Household.id.in_(sa.select(Person.household_id).where(Person.phone_index == index,
                                                                  Person.deleted_at.is_(None)))))
    if pcode and pcode.strip():
        code = pcode.strip().upper()
        conds.append(_prefix(Household.current_pcode, code))
    if population_group:
        conds.append(Household.population_group == population_group)
    if len(conds) == len(visibility(actor)):
        raise ValidationFailed(_("Give a name, a phone number or a P-code to search for."))
    result = _page(session, conds, limit, offset)
    # The trail keeps what was found, and the name searched for only as a keyed hash: an auditor
    # holding the key can check whether a given name was searched, a reader of the trail cannot.
    name_hash = keyring().index(name_key(q)) if q and q.strip() else None
    audit.record(session, actor, "household.search", "household", None,
                 {"name": name_hash, "phone": bool(phone), "pcode": pcode, "codes": [h.code for h in result.hits]})
    return result


def list_households(*, session: Session, actor: Actor, limit: int = SEARCH_LIMIT,
                    offset: int = 0) -> SearchResult:
    """The households the actor may see, a page at a time, oldest first; audited like a search."""
    actor.require(Permission.REGISTRY_HOUSEHOLD_READ)
    limit = max(1, min(limit, 500))
    # The count of everything visible is the slow part of a page at a large registry: it is kept
    # per audience until the registry changes (see core.cache).
    result = _page(session, visibility(actor), limit, max(0, offset),
                   count_key=("registry.list.count", audience(session, actor)))
    audit.record(session, actor, "household.list", "household", None,
                 {"offset": offset, "codes": [h.code for h in result.hits]})
    return result


def _page(session: Session, conds: list[sa.ColumnElement[bool]], limit: int, offset: int,
          count_key: Hashable | None = None) -> SearchResult:
    def count() -> int:
        return session.scalar(sa.select(sa.func.count()).select_from(Household).where(*conds)) or 0

    total = cached(session, count_key, count) if count_key is not None else count()
    rows = session.execute(
        sa.select(Household.id, Household.code, Household.population_group, Household.current_pcode,
                  AdminUnit.name, Household.member_count, Household.org_id)
        .outerjoin(AdminUnit, AdminUnit.pcode == Household.current_pcode)
        .where(*conds).order_by(Household.id).limit(limit).offset(offset)
    ).all()
    heads = dict(session.execute(
        sa.select(Person.household_id, Person.given_name + " " + Person.family_name)
        .where(Person.household_id.in_([r.id for r in rows]), Person.relationship == "head",
               Person.deleted_at.is_(None))
    ).all()) if rows else {}
    return SearchResult(total=total, hits=[
        SearchHit(r.code, r.population_group, r.current_pcode, r.name, heads.get(r.id), r.member_count, r.org_id)
        for r in rows])


@dataclass
class SummaryRow:
    admin1_pcode: str | None
    admin1_name: str | None
    population_group: str
    households: int
    people: int
    female_headed: int


def summary(*, session: Session, actor: Actor) -> list[SummaryRow]:
    """Households and people by admin-1 and population group, within what the actor may see."""
    actor.require(Permission.REGISTRY_SUMMARY_READ)
    female = sa.func.sum(sa.case((Household.head_sex == "f", 1), else_=0))
    rows = session.execute(
        sa.select(Household.current_admin1, Household.population_group, sa.func.count(),
                  sa.func.sum(Household.member_count), female)
        .where(*visibility(actor))
        .group_by(Household.current_admin1, Household.population_group)
    ).all()
    names = dict(session.execute(sa.select(AdminUnit.pcode, AdminUnit.name).where(AdminUnit.level == 1)).all())
    out = [SummaryRow(a1, names.get(a1) if a1 else None, grp, n, int(people or 0), int(fem or 0))
           for a1, grp, n, people, fem in rows]
    out.sort(key=lambda r: (r.admin1_pcode or "~", r.population_group))
    audit.record(session, actor, "registry.summary", "registry", None, {"rows": len(out)})
    return out


def create_household(*, session: Session, actor: Actor, record: HouseholdRecord, org_id: int | None = None) -> str:
    actor.require(Permission.REGISTRY_HOUSEHOLD_WRITE)
    target = org_id or actor.org_id
    if target is None:
        raise ValidationFailed(_("Say which organisation registers this household."))
    if not actor.acts_for(target):
        raise ValidationFailed(_("You may register households only for your own organisation."))
    result = write_households(session=session, actor=actor, org_id=target, records=[record], keep_codes=True)
    return result.codes[0]


class VersionConflict(ValidationFailed):
    """An edit based on a version of the household that is no longer the current one."""

    status_code = 409


EDITABLE = {
    "population_group": "population_group", "current_pcode": "pcode", "address": "text",
    "origin_pcode": "pcode", "displacement_date": "date", "arrival_date": "date",
    "living_arrangement": "living_arrangement", "households_in_dwelling": "int_dwelling",
    "monthly_rent_xof": "int_rent", "rent_arrears_xof": "int_arrears", "intention": "intention",
    "priority_needs": "needs", "phone": "phone", "departed_on": "date",
}


def snapshot(obj: Any) -> dict[str, Any]:
    """A record's columns as JSON values, as `record_versions` keeps them."""
    data = {}
    for col in obj.__table__.columns:
        value = getattr(obj, col.key)
        data[col.key] = value.isoformat() if isinstance(value, date) else value
    return data


def update_household(*, session: Session, actor: Actor, code: str, changes: dict[str, Any],
                     expected_version: int | None = None) -> Household:
    """Change household fields; the previous state is kept and the change audited."""
    actor.require(Permission.REGISTRY_HOUSEHOLD_WRITE)
    hh = get_visible(session, actor, code)
    if not actor.acts_for(hh.org_id):
        raise ValidationFailed(_("Only the organisation that registered this household may change it."))
    # Lock the row (PostgreSQL) so two concurrent edits cannot both pass the version check.
    session.refresh(hh, with_for_update=True)
    if expected_version is not None and expected_version != hh.version:
        raise VersionConflict(_("This household was changed by someone else (version {v}); reload it.",
                                v=hh.version))
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValidationFailed(_("These fields cannot be changed here: {fields}; accepted: {accepted}.",
                                 fields=", ".join(unknown), accepted=", ".join(EDITABLE)))
    from jatigi.places.service import known_pcodes

    checker = Checker(Context(pcodes=set(known_pcodes(session=session))))
    row = RawRow("household", 1, {**changes})
    kind_to_check = {
        "population_group": lambda n: checker.one(row, n, "population_group", required=True),
        "living_arrangement": lambda n: checker.one(row, n, "living_arrangement", required=True),
        "intention": lambda n: checker.one(row, n, "intention"),
        "pcode": lambda n: checker.pcode(row, n, required=n == "current_pcode"),
        "text": lambda n: checker.text(row, n),
        "date": lambda n: checker.day(row, n),
        "int_dwelling": lambda n: checker.integer(row, n, *limits.HOUSEHOLDS_IN_DWELLING),
        "int_rent": lambda n: checker.integer(row, n, *limits.MONTHLY_RENT_XOF),
        "int_arrears": lambda n: checker.integer(row, n, *limits.RENT_ARREARS_XOF),
        "needs": lambda n: checker.many(row, n, "needs") or None,
        "phone": lambda n: checker.phone(row, n),
    }
    clean: dict[str, Any] = {name: kind_to_check[EDITABLE[name]](name) for name in changes}
    displaced: date | None = clean.get("displacement_date", hh.displacement_date)
    arrived: date | None = clean.get("arrival_date", hh.arrival_date)
    if displaced and arrived and arrived < displaced:
        checker.add(row, "arrival_date", arrived, _("Arrival is before displacement ({date}).",
                                                    date=displaced.isoformat()))
    if checker.problems:
        raise ValidationFailed("; ".join(
            _("{column}: {message} (value: {value})", column=p.column, message=p.message, value=p.value)
            for p in checker.problems))
    keys = keyring()
    new_values: dict[str, Any] = {}
    for name, value in clean.items():
        if name == "phone":
            digits = normalise_phone(str(value) if value else None)
            if keys.index(digits) != hh.phone_index:
                new_values.update(phone_sealed=keys.seal(digits), phone_index=keys.index(digits))
        elif getattr(hh, name) != value:
            new_values[name] = value
    if not new_values:
        return hh  # nothing changes: no new version
    session.add(RecordVersion(entity_type="household", entity_id=hh.id, version=hh.version,
                              data=snapshot(hh), changed_by=actor.user_id))
    if "current_pcode" in new_values:
        new_values["current_admin1"] = session.scalar(
            sa.select(AdminUnit.admin1_pcode).where(AdminUnit.pcode == new_values["current_pcode"]))
    for name, value in new_values.items():
        setattr(hh, name, value)
    changed = sorted({"phone" if n.startswith("phone_") else n for n in new_values} - {"current_admin1"})
    hh.version += 1
    hh.updated_at = utcnow()
    hh.updated_by = actor.user_id
    audit.record(session, actor, "household.update", "household", hh.code, {"fields": changed})
    bump(session, "registry")
    session.flush()
    return hh


def history(*, session: Session, actor: Actor, code: str) -> list[RecordVersion]:
    hh = get_visible(session, actor, code)
    audit.record(session, actor, "household.history", "household", hh.code)
    return list(session.scalars(
        sa.select(RecordVersion).where(RecordVersion.entity_type == "household", RecordVersion.entity_id == hh.id)
        .order_by(RecordVersion.version)))


def delete_household(*, session: Session, actor: Actor, code: str, reason: str) -> Household:
    """Soft delete: hidden at once, kept for the retention period, then purged."""
    actor.require(Permission.REGISTRY_HOUSEHOLD_DELETE)
    if not reason.strip():
        raise ValidationFailed(_("Say why the household is deleted."))
    hh = get_visible(session, actor, code)
    if not actor.acts_for(hh.org_id):
        raise ValidationFailed(_("Only the organisation that registered this household may delete it."))
    now = utcnow()
    hh.deleted_at = now
    hh.deleted_by = actor.user_id
    hh.delete_reason = reason.strip()[:300]
    hh.purge_after = now.date() + timedelta(days=get_settings().retention_days)
    bump(session, "registry")
    audit.record(session, actor, "household.delete", "household", hh.code,
                 {"reason": hh.delete_reason, "purge_after": hh.purge_after.isoformat()})
    return hh


def purge_expired(*, session: Session, actor: Actor, today: date | None = None) -> int:
    """Erase soft-deleted households whose retention period has passed, with their people."""
    actor.require(Permission.REGISTRY_HOUSEHOLD_PURGE)
    today = today or date.today()
    due = session.execute(
        sa.select(Household.id, Household.code).where(Household.deleted_at.is_not(None),
                                                      Household.purge_after < today)).all()
    if not due:
        return 0
    ids = [r.id for r in due]
    for start in range(0, len(ids), 1000):
        part = ids[start:start + 1000]
        # The earlier states of members, consents and movements go with them.
        for part_model, kind in ((Person, "person"), (Consent, "consent"), (Movement, "movement")):
            session.execute(sa.delete(RecordVersion).where(
                RecordVersion.entity_type == kind,
                RecordVersion.entity_id.in_(sa.select(part_model.id).where(part_model.household_id.in_(part)))))
        for model in (Person, SeparatedRelative, Movement, Consent):
            session.execute(sa.delete(model).where(model.household_id.in_(part)))
        session.execute(sa.delete(RecordVersion).where(RecordVersion.entity_type == "household",
                                                       RecordVersion.entity_id.in_(part)))
        session.execute(sa.delete(Household).where(Household.id.in_(part)))
    audit.record_many(session, actor, (audit.Entry("household.purge", "household", r.code) for r in due))
    bump(session, "registry")
    return len(due)


def possible_duplicate(*, session: Session, household_id: int) -> bool:
    """Whether a member of this household is in a pair of possible duplicates still waiting for
    review (see jatigi.dedup.service): a programme does not enrol such a household until then."""
    from jatigi.dedup.service import possible_duplicate as pending  # dedup reads the registry, not the reverse

    return pending(session, household_id)
