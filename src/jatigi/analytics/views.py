"""The dashboard: the registry at a glance, by group and place, with a map; filters update it in
place. Household figures come first; those that read the people table, and the map's shapes,
follow in their own requests so the page shows quickly on a slow link."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from jatigi.analytics import dashboard as service
from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import N_, _
from jatigi.places.models import AdminUnit
from jatigi.registry import vocab
from jatigi.web.deps import SessionDep
from jatigi.web.pages import page_require
from jatigi.web.templating import render

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Actor, Depends(page_require(Permission.REGISTRY_SUMMARY_READ))]
LEVEL_LABELS = {1: N_("Regions"), 2: N_("Cercles"), 3: N_("Communes"), 4: N_("Quartiers and villages")}


def _filters(place: str | None, group: str | None, level: str | None) -> tuple[str | None, str | None, int | None]:
    place = (place or "").strip().upper() or None
    group = (group or "").strip() or None
    if group is not None and group not in vocab.POPULATION_GROUPS:
        raise ValidationFailed(_("Unknown population group {value}.", value=group))
    chosen = int(level) if level and level.isascii() and level.isdigit() else None
    return place, group, chosen


@router.get("/")
def dashboard_page(request: Request, session: SessionDep, actor: Viewer, place: str | None = None,
                   group: str | None = None, level: str | None = None) -> Response:
    place, group, chosen = _filters(place, group, level)
    data = service.dashboard(session=session, actor=actor, place=place, group=group, level=chosen,
                             include_people=False)
    regions = session.execute(
        AdminUnit.__table__.select().with_only_columns(AdminUnit.pcode, AdminUnit.name)
        .where(AdminUnit.level == 1).order_by(AdminUnit.name)).all()
    query = {k: v for k, v in (("place", place), ("group", group), ("level", chosen)) if v}
    context: dict[str, Any] = {
        "d": data, "regions": regions, "groups": vocab.POPULATION_GROUPS,
        "living_labels": vocab.LIVING_ARRANGEMENTS, "intention_labels": vocab.INTENTIONS,
        "level_labels": LEVEL_LABELS, "query": query,
        "max_place": max((p.households for p in data.by_place), default=0),
        "max_group": max((g.households for g in data.by_group), default=0),
    }
    template = "analytics/_dashboard.html" if request.headers.get("hx-request") else "analytics/dashboard.html"
    return render(request, template, **context)


@router.get("/dashboard/people")
def people_part(request: Request, session: SessionDep, actor: Viewer, place: str | None = None,
                group: str | None = None) -> Response:
    place, group, _level = _filters(place, group, None)
    figures = service.people_figures(session=session, actor=actor, place=place, group=group)
    return render(request, "analytics/_people.html", people=figures)


@router.get("/dashboard/map.geojson")
def map_data(session: SessionDep, actor: Viewer, place: str | None = None, group: str | None = None,
             level: str | None = None) -> JSONResponse:
    place, group, chosen = _filters(place, group, level)
    return JSONResponse(service.map_features(session=session, actor=actor, place=place, group=group,
                                             level=chosen))
