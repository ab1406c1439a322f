"""The places API bodies: P-coded admin units."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class AdminUnitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    pcode: str
    name: str
    name_alt: str | None
    level: int
    parent_pcode: str | None
    country_code: str
    admin1_pcode: str | None
    centroid_lat: float | None
    centroid_lon: float | None
    source: str | None
    valid_on: str | None
    geometry: dict[str, Any] | None = None


class AdminUnitPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[AdminUnitOut]


class AdminUnitDetailOut(AdminUnitOut):
    ancestors: list[AdminUnitOut]
    children: int
