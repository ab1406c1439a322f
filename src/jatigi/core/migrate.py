"""Schema migrations (Alembic) and the reference data every database starts with."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from jatigi.core.db import get_engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(engine: sa.Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def upgrade(engine: sa.Engine | None = None, revision: str = "head") -> None:
    engine = engine or get_engine()
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    from jatigi.accounts.service import sync_roles
    from jatigi.core.db import session_scope
    from jatigi.core.envelope import register_master_keys

    with session_scope(engine) as session:
        sync_roles(session=session)
        register_master_keys(session=session)


def current_revision(engine: sa.Engine | None = None) -> str | None:
    engine = engine or get_engine()
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
