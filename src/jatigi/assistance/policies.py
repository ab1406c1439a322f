"""Who may see and change programmes and cycles: the programme's organisation (and those who see
every household). A programme or cycle one may not see is "not found", never "forbidden", so
its existence is not revealed."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.assistance.models import Cycle, Programme
from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import Forbidden, NotFound
from jatigi.core.i18n import _
from jatigi.core.numbers import whole_number

_CYCLE_REF = re.compile(r"^\s*(PRG-\d+)\s*[/#:]\s*(\d+)\s*$", re.IGNORECASE | re.ASCII)


def visible_programmes(actor: Actor) -> list[sa.ColumnElement[bool]]:
    """The SQL conditions that keep an actor to the programmes they may see."""
    if actor.sees_all:
        return []
    return [Programme.org_id == (actor.org_id if actor.org_id is not None else -1)]


def get_programme(session: Session, actor: Actor, ref: str | int) -> Programme:
    """A programme by code (PRG-0001) or id, if the actor may see it; else NotFound."""
    actor.require(Permission.ASSISTANCE_PROGRAMME_READ)
    text = str(ref).strip().upper()
    programme_id = whole_number(text, 9)
    condition = Programme.code == text if programme_id is None else Programme.id == programme_id
    programme = session.scalar(sa.select(Programme).where(condition, *visible_programmes(actor)))
    if programme is None:
        raise NotFound(_("No programme {ref} that you may see.", ref=str(ref).strip()))
    return programme


def get_cycle(session: Session, actor: Actor, ref: str | int) -> tuple[Cycle, Programme]:
    """A cycle by id, or by programme code and number (PRG-0001/2), with its programme, if the
    actor may see it; else NotFound."""
    actor.require(Permission.ASSISTANCE_PROGRAMME_READ)
    text = str(ref).strip()
    query = sa.select(Cycle, Programme).join(Programme, Programme.id == Cycle.programme_id)
    if match := _CYCLE_REF.match(text):
        query = query.where(Programme.code == match.group(1).upper(), Cycle.number == int(match.group(2)))
    elif (cycle_id := whole_number(text, 9)) is not None:
        query = query.where(Cycle.id == cycle_id)
    else:
        raise NotFound(_("No cycle {ref} that you may see: give its number (as shown by the programme) or "
                         "PRG-0001/2.", ref=text))
    row = session.execute(query.where(*visible_programmes(actor))).first()
    if row is None:
        raise NotFound(_("No cycle {ref} that you may see.", ref=text))
    return row[0], row[1]


def require_change(actor: Actor, programme: Programme, permission: Permission) -> None:
    """The actor holds `permission` and acts for the programme's organisation."""
    actor.require(permission)
    if not actor.acts_for(programme.org_id):
        raise Forbidden(_("Only the organisation that runs programme {code} may change it.", code=programme.code))
