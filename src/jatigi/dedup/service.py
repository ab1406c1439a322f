"""The review queue: who sees which pairs, the pairs side by side, decisions, merges.

A reviewer sees a pair only when they may see both households (`registry.service.visibility`:
their organisation's, or a partner's shared under an agreement with the household's consent);
a role that sees the whole registry sees every pair. Values are read from the live records at
view time: the pairs table holds none. Every list, view and decision is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from jatigi.accounts.models import Organisation
from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.changes import bump
from jatigi.core.crypto import keyring
from jatigi.core.db import utcnow
from jatigi.core.errors import NotFound, ValidationFailed
from jatigi.core.i18n import N_, _
from jatigi.dedup.models import (
    CONFIRMED,
    KINDS,
    MERGED,
    PENDING,
    POSSIBLE,
    PROBABLE,
    REJECTED,
    STATUSES,
    UNMERGED,
    CandidatePair,
    Decision,
    DedupRun,
    HouseholdPair,
    Identity,
    IdentityLink,
    Merge,
)
from jatigi.places.models import AdminUnit
from jatigi.registry import service as registry
from jatigi.registry.models import Consent, Household, Person

PAGE_SIZE = 25
ACTIONS = ("confirm", "reject", "merge", "unmerge")
OUTCOME = {"confirm": CONFIRMED, "reject": REJECTED, "merge": MERGED, "unmerge": UNMERGED}
# What a pair may become from each status: reviewers may change their mind, except that a merge
# is undone only by an unmerge.
ALLOWED_FROM = {
    "confirm": frozenset({PENDING, REJECTED, UNMERGED}),
    "reject": frozenset({PENDING, CONFIRMED, UNMERGED}),
    "merge": frozenset({PENDING, CONFIRMED, UNMERGED}),
    "unmerge": frozenset({MERGED}),
}
STATUS_LABELS = {PENDING: N_("Pending"), CONFIRMED: N_("Confirmed"), REJECTED: N_("Rejected"),
                 MERGED: N_("Merged"), UNMERGED: N_("Unmerged")}
RUN_STATUS_LABELS = {"running": N_("Running"), "done": N_("Done"), "failed": N_("Failed"),
                     "no_model": N_("Not checked: no model yet")}
KIND_LABELS = {"registry": N_("Registry run"), "import": N_("At import")}
BAND_LABELS = {PROBABLE: N_("Probable (above the link threshold)"),
               POSSIBLE: N_("Possible (between the review and link thresholds)")}
ACTION_LABELS = {"confirm": N_("Confirm: the same person"), "reject": N_("Reject: two different people"),
                 "merge": N_("Merge: link both records to one person"),
                 "unmerge": N_("Unmerge: undo the merge")}
# The matches (1) and non-matches (0) that reviewers' decisions teach the model.
LABEL_OF = {CONFIRMED: 1, MERGED: 1, REJECTED: 0, UNMERGED: 0}


# ---- who sees which pairs ------------------------------------------------------------------------


def _visible_household_ids(actor: Actor) -> sa.Select[Any]:
    return sa.select(Household.id).where(*registry.visibility(actor))


def pair_visibility(actor: Actor) -> list[sa.ColumnElement[bool]]:
    """SQL conditions that keep an actor to the pairs whose two households they may see, and whose
    two people are still members (a member removed from a household is hidden everywhere)."""
    ids = _visible_household_ids(actor)
    return [CandidatePair.household_a_id.in_(ids), CandidatePair.household_b_id.in_(ids),
            *_current_people()]


def _current_people() -> list[sa.ColumnElement[bool]]:
    removed = sa.select(Person.id).where(Person.deleted_at.is_not(None))
    return [CandidatePair.person_a_id.not_in(removed), CandidatePair.person_b_id.not_in(removed)]


def _household_pair_visibility(actor: Actor) -> list[sa.ColumnElement[bool]]:
    ids = _visible_household_ids(actor)
    return [HouseholdPair.household_a_id.in_(ids), HouseholdPair.household_b_id.in_(ids)]


def _check_choice(name: str, value: str | None, accepted: tuple[str, ...]) -> None:
    if value and value not in accepted:
        raise ValidationFailed(_("{field}: unknown choice {value}; accepted: {accepted}.", field=name, value=value,
                                 accepted=", ".join(accepted)))


# ---- the queue -------------------------------------------------------------------------------------


@dataclass
class Filters:
    status: str | None = PENDING
    kind: str | None = None
    band: str | None = None
    org: str | None = None  # acronym of either household's organisation

    def check(self) -> None:
        _check_choice("status", self.status, STATUSES)
        _check_choice("kind", self.kind, KINDS)
        _check_choice("band", self.band, (PROBABLE, POSSIBLE))


@dataclass
class PersonBrief:
    person_id: int
    name: str
    sex: str
    birth_date: date | None
    household_code: str
    org: str


@dataclass
class QueueRow:
    id: int
    status: str
    kind: str
    band: str
    probability: float
    a: PersonBrief
    b: PersonBrief


@dataclass
class QueuePage:
    rows: list[QueueRow] = field(default_factory=list)
    total: int = 0
    limit: int = PAGE_SIZE
    offset: int = 0


def _org_id(session: Session, acronym: str | None) -> int | None:
    if not acronym:
        return None
    org_id = session.scalar(sa.select(Organisation.id).where(Organisation.acronym == acronym))
    if org_id is None:
        raise ValidationFailed(_("No organisation {acronym}.", acronym=acronym))
    return org_id


def _acronyms(session: Session) -> dict[int, str]:
    return dict(session.execute(sa.select(Organisation.id, Organisation.acronym)).all())


def queue(*, session: Session, actor: Actor, filters: Filters | None = None, limit: int = PAGE_SIZE,
          offset: int = 0) -> QueuePage:
    """Pairs of people the actor may see, most probable first; audited like a list of households."""
    actor.require(Permission.DEDUP_REVIEW)
    filters = filters or Filters()
    filters.check()
    limit, offset = max(1, min(limit, 500)), max(0, offset)
    P = CandidatePair
    conds = pair_visibility(actor)
    if filters.status:
        conds.append(P.status == filters.status)
    if filters.kind:
        conds.append(P.kind == filters.kind)
    if filters.band:
        conds.append(P.band == filters.band)
    org_id = _org_id(session, filters.org)
    ha, hb = aliased(Household), aliased(Household)
    pa, pb = aliased(Person), aliased(Person)
    base = (sa.select(P.id).join(ha, ha.id == P.household_a_id).join(hb, hb.id == P.household_b_id).where(*conds))
    if org_id is not None:
        base = base.where(sa.or_(ha.org_id == org_id, hb.org_id == org_id))
    total = session.scalar(sa.select(sa.func.count()).select_from(base.subquery())) or 0
    rows = session.execute(
        sa.select(P, ha.code, ha.org_id, hb.code, hb.org_id, pa, pb)
        .join(ha, ha.id == P.household_a_id).join(hb, hb.id == P.household_b_id)
        .join(pa, pa.id == P.person_a_id).join(pb, pb.id == P.person_b_id)
        .where(P.id.in_(base)).order_by(P.match_probability.desc(), P.id).limit(limit).offset(offset)).all()
    orgs = _acronyms(session)

    def brief(p: Person, code: str, org: int) -> PersonBrief:
        return PersonBrief(p.id, f"{p.given_name} {p.family_name}", p.sex, p.birth_date, code, orgs.get(org, ""))

    page = QueuePage(total=total, limit=limit, offset=offset, rows=[
        QueueRow(pair.id, pair.status, pair.kind, pair.band, pair.match_probability,
                 brief(person_a, code_a, org_a), brief(person_b, code_b, org_b))
        for pair, code_a, org_a, code_b, org_b, person_a, person_b in rows])
    audit.record(session, actor, "dedup.queue", "dedup_pair", None,
                 {"filters": {k: v for k, v in filters.__dict__.items() if v}, "offset": offset,
                  "pairs": [r.id for r in page.rows]})
    return page


# ---- household pairs -------------------------------------------------------------------------------


@dataclass
class HouseholdBrief:
    code: str
    org: str
    head: str | None
    members: int
    place: str


@dataclass
class HouseholdQueueRow:
    id: int
    status: str
    kind: str
    reasons: list[str]
    people_pairs: int
    probability: float
    a: HouseholdBrief
    b: HouseholdBrief


@dataclass
class HouseholdQueuePage:
    rows: list[HouseholdQueueRow] = field(default_factory=list)
    total: int = 0
    limit: int = PAGE_SIZE
    offset: int = 0


def _between(household_a: Any, household_b: Any) -> sa.ColumnElement[bool]:
    """People pairs between two households, whichever way round their people are."""
    P = CandidatePair
    return sa.or_(sa.and_(P.household_a_id == household_a, P.household_b_id == household_b),
                  sa.and_(P.household_a_id == household_b, P.household_b_id == household_a))


def household_status(statuses: list[str]) -> str:
    """A household pair's status, from its members' pairs: pending while any is, else what was
    decided (merged before confirmed before unmerged before rejected)."""
    for status in (PENDING, MERGED, CONFIRMED, UNMERGED, REJECTED):
        if status in statuses:
            return status
    return PENDING


def household_queue(*, session: Session, actor: Actor, filters: Filters | None = None, limit: int = PAGE_SIZE,
                    offset: int = 0) -> HouseholdQueuePage:
    """Pairs of households the actor may see; a status filter keeps those with a member pair of
    that status."""
    actor.require(Permission.DEDUP_REVIEW)
    filters = filters or Filters()
    filters.check()
    limit, offset = max(1, min(limit, 500)), max(0, offset)
    H, P = HouseholdPair, CandidatePair
    conds = _household_pair_visibility(actor)
    if filters.kind:
        conds.append(H.kind == filters.kind)
    if filters.status:
        conds.append(sa.exists().where(_between(H.household_a_id, H.household_b_id), P.status == filters.status))
    if filters.band:
        conds.append(sa.exists().where(_between(H.household_a_id, H.household_b_id), P.band == filters.band))
    ha, hb = aliased(Household), aliased(Household)
    org_id = _org_id(session, filters.org)
    base = sa.select(H.id).join(ha, ha.id == H.household_a_id).join(hb, hb.id == H.household_b_id).where(*conds)
    if org_id is not None:
        base = base.where(sa.or_(ha.org_id == org_id, hb.org_id == org_id))
    total = session.scalar(sa.select(sa.func.count()).select_from(base.subquery())) or 0
    found = session.execute(
        sa.select(H, ha, hb).join(ha, ha.id == H.household_a_id).join(hb, hb.id == H.household_b_id)
        .where(H.id.in_(base)).order_by(H.max_probability.desc(), H.id).limit(limit).offset(offset)).all()
    briefs = _household_briefs(session, [h for _pair, a, b in found for h in (a, b)])
    statuses = _member_pair_statuses(session, [(pair.household_a_id, pair.household_b_id) for pair, _a, _b in found])
    page = HouseholdQueuePage(total=total, limit=limit, offset=offset, rows=[
        HouseholdQueueRow(pair.id, household_status(statuses.get((a.id, b.id), [])), pair.kind, list(pair.reasons),
                          pair.people_pairs, pair.max_probability, briefs[a.id], briefs[b.id])
        for pair, a, b in found])
    audit.record(session, actor, "dedup.household_queue", "dedup_household_pair", None,
                 {"filters": {k: v for k, v in filters.__dict__.items() if v}, "offset": offset,
                  "pairs": [r.id for r in page.rows]})
    return page


def _member_pair_statuses(session: Session, keys: list[tuple[int, int]]) -> dict[tuple[int, int], list[str]]:
    if not keys:
        return {}
    P = CandidatePair
    wanted = set(keys)  # (smaller household id, larger)
    ids = {h for key in keys for h in key}
    rows = session.execute(sa.select(P.household_a_id, P.household_b_id, P.status).where(
        P.household_a_id.in_(ids), P.household_b_id.in_(ids))).all()
    out: dict[tuple[int, int], list[str]] = {}
    for a, b, status in rows:
        key = (min(a, b), max(a, b))
        if key in wanted:
            out.setdefault(key, []).append(status)
    return out


def _household_briefs(session: Session, households: list[Household]) -> dict[int, HouseholdBrief]:
    ids = [h.id for h in households]
    heads = dict(session.execute(
        sa.select(Person.household_id, Person.given_name + " " + Person.family_name)
        .where(Person.household_id.in_(ids), Person.relationship == "head", Person.deleted_at.is_(None))).all()
    ) if ids else {}
    orgs = _acronyms(session)
    places = _place_names(session, [h.current_pcode for h in households])
    return {h.id: HouseholdBrief(h.code, orgs.get(h.org_id, ""), heads.get(h.id), h.member_count,
                                 _place_text(places, h.current_pcode)) for h in households}


def _place_names(session: Session, pcodes: list[str | None]) -> dict[str, str]:
    wanted = sorted({p for p in pcodes if p})
    if not wanted:
        return {}
    return dict(session.execute(sa.select(AdminUnit.pcode, AdminUnit.name).where(AdminUnit.pcode.in_(wanted))).all())


def _place_text(places: dict[str, str], pcode: str | None) -> str:
    if not pcode:
        return "—"
    return f"{places[pcode]} ({pcode})" if pcode in places else pcode


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


def _visible_pair(session: Session, actor: Actor, pair_id: int, *, for_update: bool = False) -> CandidatePair:
    q = sa.select(CandidatePair).where(CandidatePair.id == pair_id, *pair_visibility(actor))
    if for_update:
        q = q.with_for_update()
    pair = session.scalar(q)
    if pair is None:
        raise NotFound(_("No pair {id} that you may see.", id=pair_id))
    return pair


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


# ---- decisions -----------------------------------------------------------------------------------


def decide(*, session: Session, actor: Actor, pair_id: int, action: str, note: str | None = None) -> CandidatePair:
    """Confirm, reject, merge or unmerge a pair; the decision is kept in its history and audited."""
    actor.require(Permission.DEDUP_REVIEW)
    if action not in ACTIONS:
        raise ValidationFailed(_("Unknown decision {value}; accepted: {accepted}.", value=action,
                                 accepted=", ".join(ACTIONS)))
    pair = _visible_pair(session, actor, pair_id, for_update=True)
    before = pair.status
    if before not in ALLOWED_FROM[action]:
        raise ValidationFailed(_("A pair that is {status} cannot be given this decision ({action}).",
                                 status=_(STATUS_LABELS[before]).lower(), action=action))
    text = (note or "").strip()[:500] or None
    detail: dict[str, Any] = {}
    if action == "merge":
        merge = _merge(session, actor, pair)
        detail = {"merge": merge.id, "identity": merge.identity_id}
    elif action == "unmerge":
        merge = _unmerge(session, actor, pair)
        detail = {"merge": merge.id, "identity": merge.identity_id}
    now = utcnow()
    pair.status = OUTCOME[action]
    pair.decided_by = actor.user_id
    pair.decided_at = now
    pair.note = text
    pair.updated_at = now
    session.add(Decision(pair_id=pair.id, action=action, status_before=before, status_after=pair.status,
                         user_id=actor.user_id, username=actor.username, at=now, note=text))
    codes = dict(session.execute(sa.select(Household.id, Household.code).where(
        Household.id.in_((pair.household_a_id, pair.household_b_id)))).all())
    audit.record(session, actor, f"dedup.pair.{action}", "dedup_pair", pair.id,
                 {"households": [codes.get(pair.household_a_id), codes.get(pair.household_b_id)],
                  "people": [pair.person_a_id, pair.person_b_id], "from": before, "to": pair.status,
                  "note": text, **detail})
    bump(session, "dedup")
    session.flush()
    return pair


def _current_link(session: Session, person_id: int) -> IdentityLink | None:
    return session.scalar(sa.select(IdentityLink).where(IdentityLink.person_id == person_id,
                                                        IdentityLink.ended_at.is_(None)))


def _merge(session: Session, actor: Actor, pair: CandidatePair) -> Merge:
    """Link both people to one identity: the one either already has, else a new one. When both
    have different identities, the people of the second join the first."""
    la, lb = _current_link(session, pair.person_a_id), _current_link(session, pair.person_b_id)
    if la is not None:
        identity_id = la.identity_id
    elif lb is not None:
        identity_id = lb.identity_id
    else:
        identity = Identity()
        session.add(identity)
        session.flush()
        identity_id = identity.id
    merge = Merge(pair_id=pair.id, identity_id=identity_id, merged_by=actor.user_id, merged_at=utcnow())
    session.add(merge)
    session.flush()
    joining: list[int] = []
    if la is None:
        joining.append(pair.person_a_id)
    if lb is None:
        joining.append(pair.person_b_id)
    elif lb.identity_id != identity_id:
        moved = list(session.scalars(sa.select(IdentityLink).where(IdentityLink.identity_id == lb.identity_id,
                                                                   IdentityLink.ended_at.is_(None))))
        for link in moved:
            link.ended_at, link.ended_by, link.end_reason = merge.merged_at, merge.id, "merged"
            joining.append(link.person_id)
    for person_id in joining:
        session.add(IdentityLink(person_id=person_id, identity_id=identity_id, merge_id=merge.id,
                                 created_at=merge.merged_at))
    session.flush()
    return merge


def _active_merge(session: Session, pair_id: int) -> Merge | None:
    return session.scalar(sa.select(Merge).where(Merge.pair_id == pair_id, Merge.unmerged_at.is_(None))
                          .order_by(Merge.id.desc()).limit(1))


def _unmerge_blockers(session: Session, merge: Merge) -> list[int]:
    """Pairs whose later merges built on this one: they are unmerged first, so that each unmerge
    brings back exactly the state before its merge."""
    later_links = sa.select(IdentityLink.merge_id).where(
        IdentityLink.identity_id == merge.identity_id, IdentityLink.ended_at.is_(None),
        IdentityLink.merge_id > merge.id)
    moved_on = sa.select(IdentityLink.ended_by).where(
        IdentityLink.merge_id == merge.id, IdentityLink.end_reason == "merged")
    return sorted(set(session.scalars(sa.select(Merge.pair_id).where(
        Merge.unmerged_at.is_(None), sa.or_(Merge.id.in_(later_links), Merge.id.in_(moved_on))))))


def _unmerge(session: Session, actor: Actor, pair: CandidatePair) -> Merge:
    merge = _active_merge(session, pair.id)
    if merge is None:
        raise ValidationFailed(_("This pair has no merge to undo."))
    blockers = _unmerge_blockers(session, merge)
    if blockers:
        raise ValidationFailed(_("Later merges built on this one: unmerge pairs {pairs} first.",
                                 pairs=", ".join(str(p) for p in blockers)))
    now = utcnow()
    ended = list(session.scalars(sa.select(IdentityLink).where(IdentityLink.ended_by == merge.id,
                                                               IdentityLink.end_reason == "merged")))
    for link in session.scalars(sa.select(IdentityLink).where(IdentityLink.merge_id == merge.id,
                                                              IdentityLink.ended_at.is_(None))):
        link.ended_at, link.ended_by, link.end_reason = now, merge.id, "unmerged"
    for old in ended:
        session.add(IdentityLink(person_id=old.person_id, identity_id=old.identity_id, merge_id=old.merge_id,
                                 created_at=now))
    merge.unmerged_at = now
    merge.unmerged_by = actor.user_id
    session.flush()
    return merge


def identities(session: Session) -> dict[int, int]:
    """Every person record linked by a merge -> its identity, as the registry stands now."""
    return dict(session.execute(sa.select(IdentityLink.person_id, IdentityLink.identity_id)
                                .where(IdentityLink.ended_at.is_(None))).all())


# ---- what decisions teach, and what import checks flag ----------------------------------------------


def labels(session: Session) -> list[tuple[int, int, int]]:
    """Reviewers' decisions as (person a, person b, 1 for the same person, 0 for two people)."""
    rows = session.execute(sa.select(CandidatePair.person_a_id, CandidatePair.person_b_id, CandidatePair.status)
                           .where(CandidatePair.status.in_(tuple(LABEL_OF)))).all()
    return [(a, b, LABEL_OF[status]) for a, b, status in rows]


def possible_duplicate(session: Session, household_id: int) -> bool:
    """Whether a household has a member in a pair still waiting for review: a programme does not
    enrol it until a reviewer has decided."""
    return bool(possible_duplicates(session, [household_id]))


def possible_duplicates(session: Session, household_ids: list[int]) -> set[int]:
    """Those of these households that are possible duplicates (see `possible_duplicate`)."""
    if not household_ids:
        return set()
    P = CandidatePair
    out: set[int] = set()
    for start in range(0, len(household_ids), 1000):
        part = household_ids[start:start + 1000]
        for column in (P.household_a_id, P.household_b_id):
            out.update(session.scalars(sa.select(column).where(column.in_(part), P.status == PENDING,
                                                               *_current_people()).distinct()))
    return out


@dataclass
class DuplicateLink:
    pair_id: int
    household_code: str | None  # the other household, when the actor may see it
    probability: float


def duplicates_of_household(*, session: Session, actor: Actor, household_id: int) -> list[DuplicateLink]:
    """The pending pairs of a household's members, for its page: the other household shown only
    to those who may see it."""
    P = CandidatePair
    rows = session.execute(sa.select(P.id, P.household_a_id, P.household_b_id, P.match_probability).where(
        sa.or_(P.household_a_id == household_id, P.household_b_id == household_id), P.status == PENDING)
        .order_by(P.match_probability.desc()).limit(100)).all()
    if not rows:
        return []
    others = {b if a == household_id else a for _id, a, b, _p in rows}
    visible = dict(session.execute(sa.select(Household.id, Household.code).where(
        Household.id.in_(others), *registry.visibility(actor))).all())
    out: dict[int, DuplicateLink] = {}  # the most probable pair with each other household
    for pid, a, b, p in rows:
        other = b if a == household_id else a
        if other not in out:
            out[other] = DuplicateLink(pid, visible.get(other), p)
    return list(out.values())


# ---- household pairs, one at a time ------------------------------------------------------------------


@dataclass
class HouseholdPairDetail:
    pair: HouseholdPair
    a: HouseholdBrief
    b: HouseholdBrief
    status: str
    people: list[QueueRow]


def get_household_pair(*, session: Session, actor: Actor, pair_id: int) -> HouseholdPairDetail:
    actor.require(Permission.DEDUP_REVIEW)
    hp = session.scalar(sa.select(HouseholdPair).where(HouseholdPair.id == pair_id,
                                                       *_household_pair_visibility(actor)))
    if hp is None:
        raise NotFound(_("No pair {id} that you may see.", id=pair_id))
    ha, hb = session.get(Household, hp.household_a_id), session.get(Household, hp.household_b_id)
    assert ha is not None and hb is not None
    briefs = _household_briefs(session, [ha, hb])
    P = CandidatePair
    pa, pb = aliased(Person), aliased(Person)
    rows = session.execute(
        sa.select(P, pa, pb).join(pa, pa.id == P.person_a_id).join(pb, pb.id == P.person_b_id)
        .where(_between(hp.household_a_id, hp.household_b_id), *_current_people())
        .order_by(P.match_probability.desc(), P.id)).all()
    orgs = _acronyms(session)

    def brief(p: Person, hh: Household) -> PersonBrief:
        return PersonBrief(p.id, f"{p.given_name} {p.family_name}", p.sex, p.birth_date, hh.code,
                           orgs.get(hh.org_id, ""))

    people = [QueueRow(pair.id, pair.status, pair.kind, pair.band, pair.match_probability,
                       brief(a, ha), brief(b, hb)) for pair, a, b in rows]
    audit.record(session, actor, "dedup.household_pair.read", "dedup_household_pair", hp.id,
                 {"households": [ha.code, hb.code]})
    for h in (ha, hb):
        audit.record(session, actor, "household.read", "household", h.code,
                     {"via": "dedup_household_pair", "pair": hp.id})
    return HouseholdPairDetail(hp, briefs[ha.id], briefs[hb.id], household_status([r.status for r in people]),
                               people)


# ---- runs and models, for the pages and the API -------------------------------------------------------


def runs(*, session: Session, actor: Actor, limit: int = 20) -> list[DedupRun]:
    actor.require(Permission.DEDUP_REVIEW)
    return list(session.scalars(sa.select(DedupRun).order_by(DedupRun.id.desc()).limit(max(1, min(limit, 200)))))


def check_note(run: DedupRun) -> str:
    """What an import's check for duplicates found, in the reader's language."""
    counts = run.counts or {}
    if run.status == "no_model":
        return _("Not checked for duplicates: no linkage model is trained yet. "
                 "Run jatigi dedup run once to train one.")
    if run.status == "failed":
        return _("The check for duplicates failed: {reason}", reason=run.error or "—")
    if run.status == "running":
        return _("The check for duplicates is running.")
    return _("{people} new people checked for duplicates: {households} households flagged as possible duplicates "
             "({pairs} pairs to review).", people=counts.get("people", 0), households=counts.get("households", 0),
             pairs=counts.get("pairs", 0))


def import_check(session: Session, batch_id: int | None) -> DedupRun | None:
    """The check for duplicates made when this import was written, if any."""
    if batch_id is None:
        return None
    return session.scalar(sa.select(DedupRun).where(DedupRun.kind == "import", DedupRun.batch_id == batch_id)
                          .order_by(DedupRun.id.desc()).limit(1))
