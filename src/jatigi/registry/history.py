"""A household's history as people read it: each change with the values before and after.

`service.history` returns the stored snapshots (the state before each change); here each
snapshot is compared with the state that followed it — the next snapshot, or the record as it
is now — so a reader sees which fields changed, from what, to what, by whom.

`household_timeline` adds the changes to the household's members, consents and movements,
whose snapshots are kept the same way (an empty snapshot for a record added from the page).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts.models import User
from jatigi.core.authz import Actor
from jatigi.core.i18n import N_
from jatigi.registry import form_spec, service, vocab
from jatigi.registry.models import Consent, Household, Movement, Person, RecordVersion

# Bookkeeping and sealed columns: never shown, never compared.
HIDDEN = frozenset({"id", "version", "phone_sealed", "phone_index", "updated_at", "updated_by",
                    "created_at", "created_by", "import_batch_id", "source_uuid", "org_id"})
# Kept in step with the members and consents, whose own entries tell how they changed.
DERIVED = frozenset({"member_count", "head_sex", "sharing_consent"})
PART_HIDDEN = {
    "person": frozenset({"id", "household_id", "line_no", "given_key", "family_key", "version", "phone_sealed",
                         "phone_index", "deleted_at"}),
    "consent": frozenset({"id", "household_id"}),
    "movement": frozenset({"id", "household_id"}),
}
_PARTS: tuple[tuple[str, Any], ...] = (("person", Person), ("consent", Consent), ("movement", Movement))

# How the fields of members, consents and movements are named and read in the history.
PART_LABELS = {
    **{f.name: f.label for f in form_spec.MEMBERS.fields},
    "birth_date": N_("Date of birth"), "age_estimated": N_("Age estimated"), "member_phone": N_("Phone"),
    "purpose": N_("Purpose"), "given": N_("Given"), "lawful_basis": N_("Lawful basis"),
    "recorded_on": N_("Recorded on"), "taken_by": N_("Taken by"), "withdrawn_on": N_("Withdrawn on"),
    "kind": N_("Kind of movement"), "moved_on": N_("Date of the movement"), "from_pcode": N_("From (P-code)"),
    "to_pcode": N_("To (P-code)"),
}
PART_CHOICES: dict[str, dict[str, str]] = {
    "sex": vocab.SEXES, "relationship": vocab.RELATIONSHIPS, "school_attendance": vocab.SCHOOL_ATTENDANCE,
    "specific_needs": vocab.SPECIFIC_NEEDS, "documents": vocab.DOCUMENTS, "purpose": vocab.CONSENT_PURPOSES,
    "lawful_basis": vocab.LAWFUL_BASES, "kind": vocab.MOVEMENT_KINDS,
    **{f"wg_{d}": form_spec.WG for d in vocab.WG_DOMAINS},
}


@dataclass
class Change:
    field: str
    before: Any
    after: Any


@dataclass
class HistoryEntry:
    version: int
    changed_at: datetime
    changed_by: str | None
    changes: list[Change] = field(default_factory=list)
    before: dict[str, Any] = field(default_factory=dict)
    subject: str = "household"  # household, person, consent or movement
    action: str = "changed"  # changed, added, removed (a member) or withdrawn (a consent)
    about: str = ""  # the member's name, the consent's purpose or the movement's kind (a code)
    entity_id: int | None = None
    record_id: int = 0  # the stored snapshot: orders changes made at the same moment


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _state(obj: Any) -> dict[str, Any]:
    return {c.key: _plain(getattr(obj, c.key)) for c in obj.__table__.columns}


def _user_names(session: Session, versions: Iterable[RecordVersion]) -> dict[int, str]:
    ids = {v.changed_by for v in versions if v.changed_by}
    if not ids:
        return {}
    return dict(session.execute(sa.select(User.id, User.username).where(User.id.in_(ids))).all())


def _household_entries(versions: list[RecordVersion], now: dict[str, Any], names: dict[int, str]) -> list[HistoryEntry]:
    entries: list[HistoryEntry] = []
    for i, v in enumerate(versions):
        after = versions[i + 1].data if i + 1 < len(versions) else now
        before = {k: val for k, val in v.data.items() if k not in HIDDEN}
        changes = [Change(k, before.get(k), after.get(k)) for k in sorted(before)
                   if k not in DERIVED and before.get(k) != after.get(k)]
        if v.data.get("phone_index") != after.get("phone_index"):
            changes.append(Change("phone", "…", "…"))  # sealed: say that it changed, not what
        who = names.get(v.changed_by) if v.changed_by is not None else None
        entries.append(HistoryEntry(v.version, v.changed_at, who, changes, before, record_id=v.id))
    return entries


def household_history(*, session: Session, actor: Actor, code: str) -> list[HistoryEntry]:
    """Changes to the household's own fields, oldest first."""
    versions = service.history(session=session, actor=actor, code=code)
    current = session.scalar(sa.select(Household).where(Household.code == code.strip().upper()))
    return _household_entries(versions, _state(current) if current else {}, _user_names(session, versions))


@cache
def _versions_statement() -> sa.Select[RecordVersion]:
    """Every stored snapshot of a household and of its parts (built once: it is a large statement)."""
    hh_id: sa.BindParameter[int] = sa.bindparam("household_id")
    owned = [sa.and_(RecordVersion.entity_type == "household", RecordVersion.entity_id == hh_id)]
    owned += [sa.and_(RecordVersion.entity_type == kind,
                      RecordVersion.entity_id.in_(sa.select(model.id).where(model.household_id == hh_id)))
              for kind, model in _PARTS]
    return (sa.select(RecordVersion).where(sa.or_(*owned))
            .order_by(RecordVersion.entity_type, RecordVersion.entity_id, RecordVersion.version, RecordVersion.id))


def household_timeline(*, session: Session, detail: service.HouseholdDetail) -> list[HistoryEntry]:
    """Changes to the household and to its members, consents and movements, oldest first.

    Built from a household already read (and audited) with `service.get_household`: one query
    for every stored snapshot, one for the people who made the changes, and one more only if
    removed members are concerned.
    """
    hh = detail.household
    current: dict[str, dict[int, Any]] = {
        "person": {p.id: p for p in detail.members},
        "consent": {c.id: c for c in detail.consents},
        "movement": {m.id: m for m in detail.movements},
    }
    versions = list(session.scalars(_versions_statement(), {"household_id": hh.id}))
    removed = {v.entity_id for v in versions if v.entity_type == "person"} - set(current["person"])
    if removed:  # members removed from the page are no longer in the household's list
        current["person"].update((p.id, p) for p in session.scalars(sa.select(Person).where(Person.id.in_(removed))))
    names = _user_names(session, versions)
    own = [v for v in versions if v.entity_type == "household"]
    entries = _household_entries(own, _state(hh), names)
    entries.extend(_part_entries([v for v in versions if v.entity_type != "household"], current, names))
    return sorted(entries, key=lambda e: (e.changed_at, e.record_id))


def _part_entries(versions: list[RecordVersion], current: dict[str, dict[int, Any]],
                  names: dict[int, str]) -> list[HistoryEntry]:
    """Entries for the snapshots of parts, given in order of kind, record and version."""
    entries: list[HistoryEntry] = []
    for i, v in enumerate(versions):
        following = versions[i + 1] if i + 1 < len(versions) else None
        same = following is not None and (following.entity_type, following.entity_id) == (v.entity_type, v.entity_id)
        obj = current[v.entity_type].get(v.entity_id)
        after = following.data if same and following else _state(obj) if obj is not None else {}
        entries.append(_part_entry(v.entity_type, v, after, names.get(v.changed_by) if v.changed_by else None))
    return entries


def _part_entry(kind: str, v: RecordVersion, after: dict[str, Any], who: str | None) -> HistoryEntry:
    hidden = PART_HIDDEN[kind]
    before = {k: val for k, val in v.data.items() if k not in hidden}
    shown_after = {k: val for k, val in after.items() if k not in hidden}
    if not v.data:
        action = "added"
        changes = [Change(k, None, val) for k, val in shown_after.items()
                   if val not in (None, "", []) and not (k == "age_estimated" and val is False)]
    else:
        if kind == "person" and not v.data.get("deleted_at") and after.get("deleted_at"):
            action = "removed"
        elif kind == "consent" and not v.data.get("withdrawn_on") and after.get("withdrawn_on"):
            action = "withdrawn"
        else:
            action = "changed"
        changes = [Change(k, before.get(k), shown_after.get(k)) for k in sorted(set(before) | set(shown_after))
                   if before.get(k) != shown_after.get(k)]
    if kind == "person" and v.data.get("phone_index") != after.get("phone_index"):
        changes.append(Change("member_phone", "…", "…"))  # sealed: say that it changed, not what
    if kind == "person":
        about = f"{after.get('given_name') or ''} {after.get('family_name') or ''}".strip()
    else:
        about = str(after.get("purpose" if kind == "consent" else "kind") or "")
    return HistoryEntry(v.version, v.changed_at, who, changes, before, subject=kind, action=action, about=about,
                        entity_id=v.entity_id, record_id=v.id)
