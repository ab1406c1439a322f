"""Changing a household's members, consents and movements one at a time, as from its page.

Every change, like a household edit: only staff of the registering organisation with the write
permission; the household row is locked and the version the user saw is checked (every form
of the household page carries the household's version, and any change to the household or to
one of its parts makes older forms stale); the changed record's previous state is kept in
`record_versions` (an empty state for a new record, so that its creation is in the history);
the change is audited without names; the registry's caches are told.

Values come as the forms send them (texts, lists as space-separated codes) and are checked with
the importer's rules; problems name the field as the form names it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.changes import bump
from jatigi.core.crypto import keyring, normalise_phone
from jatigi.core.db import utcnow
from jatigi.core.errors import Forbidden, NotFound, ValidationFailed
from jatigi.core.i18n import N_, _, day
from jatigi.places.service import known_pcodes
from jatigi.registry import vocab
from jatigi.registry.models import Consent, Household, Movement, Person, RecordVersion
from jatigi.registry.problems import Problem
from jatigi.registry.service import VersionConflict, consented, deciding_consents, get_visible, snapshot
from jatigi.registry.text import name_key
from jatigi.registry.validate import MAX_NAME, Checker, Context, RawRow
from jatigi.registry.validate import _member as check_member
from jatigi.registry.validate import _movement as check_movement


class Refused(ValidationFailed):
    """A change with problems, each naming the field as the form names it."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(
            _("{column}: {message} (value: {value})", column=p.column, message=p.message, value=p.value)
            for p in problems))
        self.problems = problems


def _refuse(name: str, message: str, value: object = "") -> Refused:
    return Refused([Problem("form", 1, name, "" if value is None else str(value), message)])


# ---- shared steps -----------------------------------------------------------------------------


def household_to_change(session: Session, actor: Actor, code: str, expected_version: int | None) -> Household:
    """The household, locked, if the actor may change it and it is still at the version seen."""
    actor.require(Permission.REGISTRY_HOUSEHOLD_WRITE)
    hh = get_visible(session, actor, code)
    if not actor.acts_for(hh.org_id):
        raise Forbidden(_("Only the organisation that registered this household may change it."))
    # Lock the row (PostgreSQL) so two concurrent changes cannot both pass the version check.
    session.refresh(hh, with_for_update=True)
    if expected_version is not None and expected_version != hh.version:
        raise VersionConflict(_("This household was changed by someone else (version {v}); reload it.",
                                v=hh.version))
    return hh


def _keep(session: Session, actor: Actor, kind: str, obj: Any, version: int, empty: bool = False) -> None:
    session.add(RecordVersion(entity_type=kind, entity_id=obj.id, version=version,
                              data={} if empty else snapshot(obj), changed_at=utcnow(), changed_by=actor.user_id))


def _next_version(session: Session, kind: str, entity_id: int) -> int:
    """Consents and movements have no version column: their stored states are counted."""
    last = session.scalar(sa.select(sa.func.max(RecordVersion.version))
                          .where(RecordVersion.entity_type == kind, RecordVersion.entity_id == entity_id))
    return 1 if last is None else last + 1


def _done(session: Session, actor: Actor, hh: Household, action: str, detail: dict[str, Any]) -> None:
    hh.version += 1
    hh.updated_at = utcnow()
    hh.updated_by = actor.user_id
    audit.record(session, actor, action, "household", hh.code, detail)
    bump(session, "registry")
    session.flush()


def _checker(session: Session, today: date | None) -> Checker:
    return Checker(Context(pcodes=set(known_pcodes(session=session)), today=today or date.today()))


def _raise_problems(checker: Checker) -> None:
    if checker.problems:
        raise Refused(checker.problems)


# ---- members ----------------------------------------------------------------------------------


def active_members(session: Session, hh: Household) -> list[Person]:
    return list(session.scalars(sa.select(Person).where(Person.household_id == hh.id, Person.deleted_at.is_(None))
                                .order_by(Person.line_no)))


def member(session: Session, hh: Household, line: int) -> Person:
    p = session.scalar(sa.select(Person).where(Person.household_id == hh.id, Person.line_no == line,
                                               Person.deleted_at.is_(None)))
    if p is None:
        raise NotFound(_("Household {code} has no member {n}.", code=hh.code, n=line))
    return p


def _age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _member_values(checker: Checker, values: dict[str, Any], current: Person | None) -> dict[str, Any]:
    row = RawRow("form", 1, dict(values))
    record = check_member(checker, row, current.line_no if current else 1, checker.ctx.today)
    born, estimated = record.birth_date, record.age_estimated
    if current is not None and current.age_estimated and current.birth_date and estimated \
            and str(values.get("age") or "").strip() == str(_age_on(current.birth_date, checker.ctx.today)):
        # The age shown was left as it was: keep the estimated date rather than estimate it again.
        born = current.birth_date
    out: dict[str, Any] = {
        "given_name": record.given_name, "family_name": record.family_name, "sex": record.sex,
        "relationship": record.relationship, "birth_date": born, "age_estimated": estimated,
        **{f"wg_{d}": record.wg.get(d) for d in vocab.WG_DOMAINS},
        "school_attendance": record.school_attendance,
        "specific_needs": record.specific_needs or None, "documents": record.documents or None,
    }
    if "member_phone" in values:
        out["phone"] = record.phone
    if "deceased_on" in values:
        died = checker.day(row, "deceased_on")
        if died is not None and born is not None and died < born:
            checker.add(row, "deceased_on", died, _("The day of death is before the birth ({date}).",
                                                    date=born.isoformat()))
        out["deceased_on"] = died
    return out


def _name(p: Person) -> str:
    return f"{p.given_name} {p.family_name}"


def _settle_head(checker: Checker, session: Session, hh: Household, person: Person | None,
                 new: dict[str, Any], former_head_relationship: str | None) -> Person | None:
    """Check the household keeps exactly one head; returns the former head who steps down, if any."""
    row = RawRow("form", 1, {})
    others = [p for p in active_members(session, hh) if person is None or p.id != person.id]
    head = next((p for p in others if p.relationship == "head"), None)
    stepping_down: Person | None = None
    if new["relationship"] == "head" and head is not None:
        choice = (former_head_relationship or "").strip()
        if not choice:
            checker.add(row, "former_head_relationship", choice,
                        _("{name} is the head now: say what {name} becomes when this member is the head.",
                          name=_name(head)))
        elif choice not in vocab.RELATIONSHIPS or choice == "head":
            checker.add(row, "former_head_relationship", choice, _("Unknown choice; accepted: {accepted}.",
                        accepted=", ".join(c for c in vocab.RELATIONSHIPS if c != "head")))
        else:
            stepping_down = head
    elif new["relationship"] != "head" and person is not None and person.relationship == "head":
        checker.add(row, "relationship", new["relationship"],
                    _("{name} is the head of the household: to change that, make another member the head "
                      "(change that member and choose Head of household).", name=_name(person)))
    if new["relationship"] == "head" and new["birth_date"] is not None:
        age = _age_on(new["birth_date"], checker.ctx.today)
        if age < vocab.ADULT_AGE and not vocab.CHILD_HEAD_CODES & set(new["specific_needs"] or []):
            checker.add(row, "specific_needs", " ".join(new["specific_needs"] or []),
                        _("The head is {age} years old: a child heading a household needs the specific-needs "
                          "code SC-CH.", age=age))
    return stepping_down


def _apply(p: Person, new: dict[str, Any]) -> list[str]:
    """Set the new values; returns the names of the fields that changed."""
    changed = []
    keys = keyring()
    for name, value in new.items():
        if name == "phone":
            digits = normalise_phone(value)
            if keys.index(digits) != p.phone_index:
                p.phone_sealed, p.phone_index = keys.seal(digits), keys.index(digits)
                changed.append("member_phone")
        elif getattr(p, name) != value:
            setattr(p, name, value)
            changed.append(name)
    if "given_name" in changed or "family_name" in changed:
        p.given_key, p.family_key = name_key(p.given_name), name_key(p.family_name)
    return changed


def _recount(session: Session, hh: Household) -> None:
    """Keep the household's summary columns in step with its members."""
    session.flush()
    members = active_members(session, hh)
    hh.member_count = len(members)
    hh.head_sex = next((p.sex for p in members if p.relationship == "head"), None)


def _step_down(session: Session, actor: Actor, head: Person, relationship: str) -> None:
    _keep(session, actor, "person", head, head.version)
    head.relationship = relationship
    head.version += 1


def add_member(*, session: Session, actor: Actor, code: str, values: dict[str, Any],
               expected_version: int | None = None, former_head_relationship: str | None = None,
               today: date | None = None) -> Person:
    """A new member: the form's fields (given_name, family_name, sex, relationship, birth_date or
    age, wg_*, school_attendance, specific_needs, documents, member_phone)."""
    hh = household_to_change(session, actor, code, expected_version)
    checker = _checker(session, today)
    new = _member_values(checker, values, None)
    stepping_down = _settle_head(checker, session, hh, None, new, former_head_relationship)
    _raise_problems(checker)
    last = session.scalar(sa.select(sa.func.max(Person.line_no)).where(Person.household_id == hh.id)) or 0
    p = Person(household_id=hh.id, line_no=last + 1, given_name="", family_name="", given_key="", family_key="",
               sex="", relationship="", version=1)
    _apply(p, new)
    session.add(p)
    session.flush()
    _keep(session, actor, "person", p, 0, empty=True)
    if stepping_down is not None:
        _step_down(session, actor, stepping_down, str(former_head_relationship).strip())
    _recount(session, hh)
    detail: dict[str, Any] = {"member": p.line_no}
    if stepping_down is not None:
        detail["former_head"] = stepping_down.line_no
    _done(session, actor, hh, "household.member_add", detail)
    return p


def update_member(*, session: Session, actor: Actor, code: str, line: int, values: dict[str, Any],
                  expected_version: int | None = None, former_head_relationship: str | None = None,
                  today: date | None = None) -> Person:
    """Change a member's fields; a field the values leave out (the phone) is kept."""
    hh = household_to_change(session, actor, code, expected_version)
    p = member(session, hh, line)
    checker = _checker(session, today)
    new = _member_values(checker, values, p)
    stepping_down = _settle_head(checker, session, hh, p, new, former_head_relationship)
    _raise_problems(checker)
    before = snapshot(p)
    changed = _apply(p, new)
    if not changed:
        return p  # nothing changes: no new version
    session.add(RecordVersion(entity_type="person", entity_id=p.id, version=p.version, data=before,
                              changed_at=utcnow(), changed_by=actor.user_id))
    p.version += 1
    if stepping_down is not None:
        _step_down(session, actor, stepping_down, str(former_head_relationship).strip())
    _recount(session, hh)
    detail: dict[str, Any] = {"member": p.line_no, "fields": sorted(changed)}
    if stepping_down is not None:
        detail["former_head"] = stepping_down.line_no
    _done(session, actor, hh, "household.member_update", detail)
    return p


def removal_refusal(session: Session, hh: Household, p: Person) -> str | None:
    """Why this member cannot be removed now, or None."""
    if p.relationship == "head":
        return _("{name} is the head of the household: make another member the head first, then remove {name}.",
                 name=_name(p))
    if len(active_members(session, hh)) <= 1:
        return _("A household needs at least one member: delete the household instead.")
    return None


def remove_member(*, session: Session, actor: Actor, code: str, line: int,
                  expected_version: int | None = None) -> Person:
    """Take a member off the household: hidden everywhere at once, the previous state kept."""
    hh = household_to_change(session, actor, code, expected_version)
    p = member(session, hh, line)
    refusal = removal_refusal(session, hh, p)
    if refusal:
        raise _refuse("line", refusal, line)
    _keep(session, actor, "person", p, p.version)
    p.deleted_at = utcnow()
    p.version += 1
    _recount(session, hh)
    _done(session, actor, hh, "household.member_remove", {"member": p.line_no})
    return p


# ---- consents ---------------------------------------------------------------------------------

NO_REGISTRATION = N_("Without consent to registration the household cannot stay registered: delete the "
                     "household instead (it is then erased after the retention period).")


def _choice(checker: Checker, row: RawRow, name: str, codes: dict[str, str], required: bool = True) -> str | None:
    value = str(row.values.get(name) or "").strip()
    if not value:
        if required:
            checker.add(row, name, value, _("This value is required; accepted: {accepted}.",
                                            accepted=", ".join(codes)))
        return None
    if value not in codes:
        checker.add(row, name, value, _("Unknown choice; accepted: {accepted}.", accepted=", ".join(codes)))
        return None
    return value


def consents_of(session: Session, hh: Household) -> list[Consent]:
    return list(session.scalars(sa.select(Consent).where(Consent.household_id == hh.id).order_by(Consent.id)))


def _share(session: Session, hh: Household) -> None:
    """Partners see the household only while it consents to sharing."""
    session.flush()
    hh.sharing_consent = "data_sharing" in consented(consents_of(session, hh))


def record_consent(*, session: Session, actor: Actor, code: str, values: dict[str, Any],
                   expected_version: int | None = None, today: date | None = None) -> Consent:
    """A new consent record (purpose, given yes/no, lawful_basis, recorded_on, taken_by): it
    decides its purpose from now on, in place of any earlier record."""
    hh = household_to_change(session, actor, code, expected_version)
    checker = _checker(session, today)
    row = RawRow("form", 1, dict(values))
    purpose = _choice(checker, row, "purpose", vocab.CONSENT_PURPOSES)
    given = _choice(checker, row, "given", {"yes": "", "no": ""})
    basis = _choice(checker, row, "lawful_basis", vocab.LAWFUL_BASES, required=False) or "consent"
    recorded_on = checker.day(row, "recorded_on", required=True)
    taken_by = checker.text(row, "taken_by", required=True, max_len=MAX_NAME)
    if purpose == "registration" and given == "no":
        checker.add(row, "given", given, _(NO_REGISTRATION))
    if purpose and recorded_on:
        earlier = deciding_consents(consents_of(session, hh)).get(purpose)
        if earlier is not None and recorded_on < earlier.recorded_on:
            checker.add(row, "recorded_on", values.get("recorded_on"),
                        _("The record that decides this purpose now is of {date}: a new one cannot be older.",
                          date=day(earlier.recorded_on)))
    _raise_problems(checker)
    assert purpose and given and recorded_on and taken_by
    c = Consent(household_id=hh.id, purpose=purpose, given=given == "yes", lawful_basis=basis,
                recorded_on=recorded_on, taken_by=taken_by)
    session.add(c)
    session.flush()
    _keep(session, actor, "consent", c, 0, empty=True)
    _share(session, hh)
    _done(session, actor, hh, "household.consent_add", {"purpose": purpose, "given": c.given})
    return c


def consent(session: Session, hh: Household, consent_id: int) -> Consent:
    c = session.scalar(sa.select(Consent).where(Consent.household_id == hh.id, Consent.id == consent_id))
    if c is None:
        raise NotFound(_("Household {code} has no such consent record.", code=hh.code))
    return c


def withdrawal_refusal(session: Session, hh: Household, c: Consent) -> str | None:
    """Why this consent cannot be withdrawn, or None."""
    if c.withdrawn_on is not None:
        return _("This consent was already withdrawn on {date}.", date=day(c.withdrawn_on))
    if not c.given:
        return _("This record is a refusal: there is nothing to withdraw.")
    if deciding_consents(consents_of(session, hh)).get(c.purpose) is not c:
        return _("A later record decides this purpose now: withdraw that one.")
    if c.purpose == "registration":
        return _(NO_REGISTRATION)
    return None


def withdraw_consent(*, session: Session, actor: Actor, code: str, consent_id: int, withdrawn_on: object,
                     expected_version: int | None = None, today: date | None = None) -> Consent:
    """Withdraw a given consent from a date on: what it allowed stops at once (sharing with
    partners, opening phones or whereabouts)."""
    hh = household_to_change(session, actor, code, expected_version)
    c = consent(session, hh, consent_id)
    refusal = withdrawal_refusal(session, hh, c)
    if refusal:
        raise _refuse("consent", refusal, consent_id)
    checker = _checker(session, today)
    row = RawRow("form", 1, {"withdrawn_on": withdrawn_on})
    withdrawn = checker.day(row, "withdrawn_on", required=True)
    if withdrawn is not None and withdrawn < c.recorded_on:
        checker.add(row, "withdrawn_on", withdrawn_on, _("The consent was recorded on {date}: it cannot be "
                                                         "withdrawn before.", date=day(c.recorded_on)))
    _raise_problems(checker)
    _keep(session, actor, "consent", c, _next_version(session, "consent", c.id))
    c.withdrawn_on = withdrawn
    _share(session, hh)
    _done(session, actor, hh, "household.consent_withdraw", {"purpose": c.purpose})
    return c


# ---- movements --------------------------------------------------------------------------------

def _movement_values(checker: Checker, values: dict[str, Any]) -> dict[str, Any]:
    row = RawRow("form", 1, dict(values))
    record = check_movement(checker, row)
    if record.from_pcode and record.from_pcode == record.to_pcode:
        checker.add(row, "movement_to", values.get("movement_to"), _("From and to are the same place."))
    _raise_problems(checker)
    return {"kind": record.kind, "moved_on": record.moved_on, "from_pcode": record.from_pcode,
            "to_pcode": record.to_pcode}


def movement(session: Session, hh: Household, movement_id: int) -> Movement:
    mv = session.scalar(sa.select(Movement).where(Movement.household_id == hh.id, Movement.id == movement_id))
    if mv is None:
        raise NotFound(_("Household {code} has no such movement.", code=hh.code))
    return mv


def add_movement(*, session: Session, actor: Actor, code: str, values: dict[str, Any],
                 expected_version: int | None = None, today: date | None = None) -> Movement:
    """A movement (movement_kind, movement_date, movement_from, movement_to, as the form names them)."""
    hh = household_to_change(session, actor, code, expected_version)
    new = _movement_values(_checker(session, today), values)
    mv = Movement(household_id=hh.id, **new)
    session.add(mv)
    session.flush()
    _keep(session, actor, "movement", mv, 0, empty=True)
    _done(session, actor, hh, "household.movement_add", {"kind": mv.kind})
    return mv


def update_movement(*, session: Session, actor: Actor, code: str, movement_id: int, values: dict[str, Any],
                    expected_version: int | None = None, today: date | None = None) -> Movement:
    """Correct a movement's kind, date or places."""
    hh = household_to_change(session, actor, code, expected_version)
    mv = movement(session, hh, movement_id)
    new = _movement_values(_checker(session, today), values)
    changed = sorted(name for name, value in new.items() if getattr(mv, name) != value)
    if not changed:
        return mv
    _keep(session, actor, "movement", mv, _next_version(session, "movement", mv.id))
    for name in changed:
        setattr(mv, name, new[name])
    _done(session, actor, hh, "household.movement_update", {"kind": mv.kind, "fields": changed})
    return mv
