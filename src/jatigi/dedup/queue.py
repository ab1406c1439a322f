"""The review queue: who sees which pairs, and the lists of person and household pairs.

A reviewer sees a pair only when they may see both households (`registry.service.visibility`:
their organisation's, or a partner's shared under an agreement with the household's consent);
a role that sees the whole registry sees every pair. Every list is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from jatigi.accounts.models import Organisation
from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
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
    HouseholdPair,
)
from jatigi.places import service as places_service
from jatigi.registry import service as registry
from jatigi.registry.models import Household, Person

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
    return places_service.names_of(session=session, pcodes=pcodes)


def _place_text(places: dict[str, str], pcode: str | None) -> str:
    if not pcode:
        return "—"
    return f"{places[pcode]} ({pcode})" if pcode in places else pcode

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

def _visible_pair(session: Session, actor: Actor, pair_id: int, *, for_update: bool = False) -> CandidatePair:
    q = sa.select(CandidatePair).where(CandidatePair.id == pair_id, *pair_visibility(actor))
    if for_update:
        q = q.with_for_update()
    pair = session.scalar(q)
    if pair is None:
        raise NotFound(_("No pair {id} that you may see.", id=pair_id))
    return pair
