"""Reviewers' decisions on a pair: confirm, reject, merge (both records kept and linked to one
identity) and unmerge; every decision audited."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.changes import bump
from jatigi.core.db import utcnow
from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _
from jatigi.dedup.models import (
    CandidatePair,
    Decision,
    Identity,
    IdentityLink,
    Merge,
)
from jatigi.dedup.queue import ACTIONS, ALLOWED_FROM, OUTCOME, STATUS_LABELS, _visible_pair
from jatigi.registry.models import Household

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
