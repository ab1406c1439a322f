"""The one way a programme, a cycle, a payment or a complaint changes state: allowed moves only,
each kept in `assistance_transitions` (who, when, why) and in the audit log."""

from __future__ import annotations

from typing import Any, NoReturn, Protocol

from sqlalchemy.orm import Session

from jatigi.assistance import vocab
from jatigi.assistance.models import Transition
from jatigi.core import audit
from jatigi.core.authz import Actor
from jatigi.core.db import utcnow
from jatigi.core.errors import Conflict
from jatigi.core.i18n import N_, _

MOVES: dict[str, dict[str, tuple[str, ...]]] = {
    "programme": vocab.PROGRAMME_MOVES,
    "cycle": vocab.CYCLE_MOVES,
    "payment": vocab.PAYMENT_MOVES,
    "complaint": vocab.COMPLAINT_MOVES,
}
LABELS: dict[str, dict[str, str]] = {
    "programme": vocab.PROGRAMME_STATES,
    "cycle": vocab.CYCLE_STATES,
    "payment": vocab.PAYMENT_STATES,
    "complaint": vocab.COMPLAINT_STATES,
}
ENTITY_LABELS = {"programme": N_("This programme"), "cycle": N_("This cycle"), "payment": N_("This payment"),
                 "complaint": N_("This complaint")}
# Moves outside the state machines above, each allowed for one named reason only, by the code that
# names it (`check_exception`), and kept with that name in the transition's detail ("exception"):
# - reissue_withdrawn: a cycle's lines withdrawn before anything went out (the cycle rejected, or
#   cancelled before approval) put each payment its re-issues replaced back from `reissued` to the
#   state it had; that payment can then be re-issued again.
REISSUE_WITHDRAWN = "reissue_withdrawn"
EXCEPTIONS: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    REISSUE_WITHDRAWN: {"payment": {"reissued": ("failed", "unclaimed")}},
}
TABLES = {"programme": "programme", "cycle": "assistance_cycle", "payment": "assistance_payment",
          "complaint": "complaint"}


class Stateful(Protocol):
    id: Any
    state: Any


def state_label(entity: str, state: str) -> str:
    return _(LABELS[entity].get(state, state))


def can_move(entity: str, state: str, to: str) -> bool:
    return to in MOVES[entity].get(state, ())


def check_move(entity: str, state: str, to: str) -> None:
    """Conflict, in words, when `state` may not become `to`."""
    if not can_move(entity, state, to):
        _refuse(entity, state, to, MOVES[entity].get(state, ()))


def _refuse(entity: str, state: str, to: str, allowed: tuple[str, ...]) -> NoReturn:
    raise Conflict(_("{entity} is {state} and cannot become {to}; {allowed}.",
                     entity=_(ENTITY_LABELS[entity]), state=state_label(entity, state).lower(),
                     to=state_label(entity, to).lower(),
                     allowed=(_("it can become: {states}", states=", ".join(state_label(entity, s).lower()
                                                                        for s in allowed))
                              if allowed else _("it can no longer change"))))


def check_exception(name: str, entity: str, state: str, to: str) -> None:
    """Conflict unless the named exception allows `state` to become `to` (see EXCEPTIONS)."""
    allowed = EXCEPTIONS[name].get(entity, {}).get(state, ())
    if to not in allowed:
        _refuse(entity, state, to, allowed)


def move(session: Session, actor: Actor, entity: str, record: Stateful, to: str, *, reason: str | None = None,
         detail: dict[str, Any] | None = None) -> Transition:
    """Move `record` to state `to` if allowed (Conflict otherwise), and keep the transition."""
    before = record.state
    check_move(entity, before, to)
    record.state = to
    return record_transition(session, actor, entity, record.id, before, to, reason=reason, detail=detail)


def record_transition(session: Session, actor: Actor, entity: str, entity_id: int, before: str | None, to: str, *,
                      reason: str | None = None, detail: dict[str, Any] | None = None) -> Transition:
    """Keep a transition already made (for a set of payments moved in one statement, on their cycle)."""
    transition = Transition(entity=entity, entity_id=entity_id, from_state=before, to_state=to,
                            reason=(reason or None) and reason[:500], detail=detail, at=utcnow(),
                            by=actor.user_id, by_name=actor.username)
    session.add(transition)
    audit.record(session, actor, f"assistance.{entity}.{to}", TABLES[entity], entity_id,
                 {"from": before, "to": to, **({"reason": reason} if reason else {}), **(detail or {})})
    return transition
