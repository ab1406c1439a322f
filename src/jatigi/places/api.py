"""The places JSON API: admin units by level and parent; geometry only when asked for."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import undefer

from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import NotFound
from jatigi.core.i18n import _
from jatigi.places.models import AdminUnit
from jatigi.places.schemas import AdminUnitDetailOut, AdminUnitOut, AdminUnitPage
from jatigi.web.deps import SessionDep, require

router = APIRouter(tags=["places"])
PlacesActor = Annotated[Actor, Depends(require(Permission.PLACES_ADMIN_UNIT_READ))]


def _out(unit: AdminUnit, geometry: bool) -> AdminUnitOut:
    out = AdminUnitOut.model_validate(unit, from_attributes=True) if geometry else AdminUnitOut(
        **{k: getattr(unit, k) for k in AdminUnitOut.model_fields if k != "geometry"})
    return out


@router.get("/places", response_model=AdminUnitPage, response_model_exclude_none=False)
def list_places(session: SessionDep, _actor: PlacesActor,
                level: int | None = Query(None, ge=0, le=5), parent: str | None = None,
                geometry: bool = Query(False, description="Include boundaries (large)."),
                limit: int = Query(1000, ge=1, le=20_000), offset: int = Query(0, ge=0)) -> AdminUnitPage:
    conds = []
    if level is not None:
        conds.append(AdminUnit.level == level)
    if parent:
        conds.append(AdminUnit.parent_pcode == parent.strip().upper())
    total = session.scalar(sa.select(sa.func.count()).select_from(AdminUnit).where(*conds)) or 0
    q = sa.select(AdminUnit).where(*conds).order_by(AdminUnit.pcode).limit(limit).offset(offset)
    if geometry:
        q = q.options(undefer(AdminUnit.geometry))
    units = session.scalars(q).all()
    return AdminUnitPage(total=total, limit=limit, offset=offset, items=[_out(u, geometry) for u in units])


@router.get("/places/{pcode}", response_model=AdminUnitDetailOut)
def place_detail(pcode: str, session: SessionDep, _actor: PlacesActor,
                 geometry: bool = Query(False, description="Include the boundary (large).")) -> AdminUnitDetailOut:
    q = sa.select(AdminUnit).where(AdminUnit.pcode == pcode.strip().upper())
    if geometry:
        q = q.options(undefer(AdminUnit.geometry))
    unit = session.scalar(q)
    if unit is None:
        raise NotFound(_("No admin unit {pcode}.", pcode=pcode))
    ancestors: list[AdminUnitOut] = []
    parent, seen = unit.parent_pcode, 0
    while parent and seen < 10:
        up = session.get(AdminUnit, parent)
        if up is None:
            break
        ancestors.insert(0, _out(up, False))
        parent, seen = up.parent_pcode, seen + 1
    children = session.scalar(sa.select(sa.func.count()).select_from(AdminUnit)
                              .where(AdminUnit.parent_pcode == unit.pcode)) or 0
    return AdminUnitDetailOut(**_out(unit, geometry).model_dump(), ancestors=ancestors, children=children)
