"""What reviewers' decisions teach the model, which households are possible duplicates, and the
runs (registry runs and import checks) for the pages and the API."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core.authz import Actor, Permission
from jatigi.core.i18n import _
from jatigi.dedup.models import (
    PENDING,
    CandidatePair,
    DedupRun,
)
from jatigi.dedup.queue import LABEL_OF, _current_people
from jatigi.registry import service as registry
from jatigi.registry.models import Household

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
