"""One pair of people side by side, read from the live records at view time (the pairs table
holds none), with why the model matched them; audited."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts.models import Organisation
from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.crypto import keyring
from jatigi.core.i18n import _
from jatigi.dedup.decisions import _active_merge, _unmerge_blockers
from jatigi.dedup.models import (
    MERGED,
    CandidatePair,
    Decision,
    HouseholdPair,
    IdentityLink,
)
from jatigi.dedup.queue import ACTIONS, ALLOWED_FROM, _place_names, _place_text, _visible_pair
from jatigi.registry import service as registry
from jatigi.registry.models import Consent, Household, Person

# ---- one pair, side by side ----------------------------------------------------------------------


@dataclass
class Side:
    person: Person
    household: Household
    org: str
    org_name: str
    place: str
    phone: str | None  # digits with the country code, when the actor may open it
    phone_note: str | None  # why it is not shown
    linked: list[int]  # other person records linked to the same identity


@dataclass
class FieldWeight:
    field: str
    level: str
    weight: float


@dataclass
class DecisionRow:
    action: str
    status_before: str
    status_after: str
    username: str
    at: datetime
    note: str | None


@dataclass
class PairDetail:
    pair: CandidatePair
    a: Side
    b: Side
    fields: list[FieldWeight]
    prior: float | None  # the starting weight: how rare duplicates are before any field is compared
    history: list[DecisionRow]
    allowed: list[str]  # the decisions open now
    household_pair_id: int | None
    merge_blocked_by: list[int] = field(default_factory=list)  # pairs to unmerge first



def _phone_note(actor: Actor, hh: Household, sealed: str | None, opened: list[str]) -> str | None:
    if sealed is None:
        return _("None recorded.")
    if "phone" in opened:
        return None
    if not actor.can(Permission.REGISTRY_HOUSEHOLD_READ_SENSITIVE):
        return _("Hidden: your role may not open phone numbers.")
    if not actor.acts_for(hh.org_id):
        return _("Hidden: only the organisation that registered the household may open it.")
    return _("Hidden: the household did not consent to be contacted by phone.")


def _side(session: Session, actor: Actor, person_id: int, orgs: dict[int, tuple[str, str]]) -> tuple[Side, list[str]]:
    person = session.get(Person, person_id)
    assert person is not None  # the pair's foreign key keeps it
    hh = session.get(Household, person.household_id)
    assert hh is not None
    consents = list(session.scalars(sa.select(Consent).where(Consent.household_id == hh.id)))
    opened = registry.sealed_fields_opened(actor, hh, consents)
    sealed = person.phone_sealed or hh.phone_sealed
    phone = keyring().open(sealed) if sealed and "phone" in opened else None
    acronym, name = orgs.get(hh.org_id, ("", ""))
    places = _place_names(session, [hh.current_pcode])
    side = Side(person, hh, acronym, name, _place_text(places, hh.current_pcode), phone,
                _phone_note(actor, hh, sealed, opened), linked_records(session, person.id))
    return side, opened


def linked_records(session: Session, person_id: int) -> list[int]:
    """The other person records merged with this one (through any chain of merges)."""
    link = session.scalar(sa.select(IdentityLink).where(IdentityLink.person_id == person_id,
                                                        IdentityLink.ended_at.is_(None)))
    if link is None:
        return []
    return sorted(session.scalars(sa.select(IdentityLink.person_id).where(
        IdentityLink.identity_id == link.identity_id, IdentityLink.ended_at.is_(None),
        IdentityLink.person_id != person_id)))


def explanation(pair: CandidatePair) -> tuple[list[FieldWeight], float | None]:
    prior = None
    out = []
    for item in pair.fields or []:
        if item.get("field") == "prior":
            prior = float(item.get("weight") or 0.0)
            continue
        out.append(FieldWeight(str(item.get("field")), str(item.get("level") or ""), float(item.get("weight") or 0.0)))
    return out, prior


def _history(session: Session, pair_id: int) -> list[DecisionRow]:
    return [DecisionRow(d.action, d.status_before, d.status_after, d.username, d.at, d.note)
            for d in session.scalars(sa.select(Decision).where(Decision.pair_id == pair_id).order_by(Decision.id))]


def get_pair(*, session: Session, actor: Actor, pair_id: int) -> PairDetail:
    """A pair with both records as they are now, the weight each field added, its history."""
    actor.require(Permission.DEDUP_REVIEW)
    pair = _visible_pair(session, actor, pair_id)
    orgs = {i: (a, n) for i, a, n in session.execute(sa.select(Organisation.id, Organisation.acronym,
                                                                Organisation.name)).all()}
    a, opened_a = _side(session, actor, pair.person_a_id, orgs)
    b, opened_b = _side(session, actor, pair.person_b_id, orgs)
    fields, prior = explanation(pair)
    hp = session.scalar(sa.select(HouseholdPair.id).where(
        HouseholdPair.household_a_id == min(pair.household_a_id, pair.household_b_id),
        HouseholdPair.household_b_id == max(pair.household_a_id, pair.household_b_id)))
    detail = PairDetail(pair, a, b, fields, prior, _history(session, pair.id),
                        [act for act in ACTIONS if pair.status in ALLOWED_FROM[act]], hp)
    if pair.status == MERGED:
        merge = _active_merge(session, pair.id)
        detail.merge_blocked_by = _unmerge_blockers(session, merge) if merge else []
    audit.record(session, actor, "dedup.pair.read", "dedup_pair", pair.id,
                 {"households": [a.household.code, b.household.code]})
    for side, opened in ((a, opened_a), (b, opened_b)):
        audit.record(session, actor, "household.read", "household", side.household.code,
                     {"via": "dedup_pair", "pair": pair.id, **({"opened": opened} if opened else {})})
    return detail
