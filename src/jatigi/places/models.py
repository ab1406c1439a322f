"""P-coded administrative units (OCHA COD-AB): country, regions, cercles, communes, quartiers."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from jatigi.core.db import Base, code_string

LEVEL_NAMES = {0: "country", 1: "admin1", 2: "admin2", 3: "admin3", 4: "admin4"}


class AdminUnit(Base):
    __tablename__ = "admin_units"

    pcode: Mapped[str] = mapped_column(code_string(32), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    name_alt: Mapped[str | None] = mapped_column(sa.String(200))
    level: Mapped[int] = mapped_column(sa.SmallInteger, index=True)
    parent_pcode: Mapped[str | None] = mapped_column(
        sa.ForeignKey("admin_units.pcode", ondelete="RESTRICT"), index=True
    )
    country_code: Mapped[str] = mapped_column(sa.String(8), index=True)
    # The admin-1 ancestor, kept so that summaries by region need no recursive walk.
    admin1_pcode: Mapped[str | None] = mapped_column(code_string(32), index=True)
    centroid_lat: Mapped[float | None] = mapped_column(sa.Float)
    centroid_lon: Mapped[float | None] = mapped_column(sa.Float)
    geometry: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, deferred=True)
    source: Mapped[str | None] = mapped_column(sa.String(200))
    valid_on: Mapped[str | None] = mapped_column(sa.String(20))
