"""The migrations build exactly the schema the models describe, and can be undone."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from jatigi.core import migrate
from jatigi.core.models import metadata


def _differences(engine: sa.Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        found = compare_metadata(context, metadata)
    # SQLite cannot tell a column's collation back: the C collation of codes is PostgreSQL's only.
    return [d for d in found if not (isinstance(d, tuple) and d and d[0] == "modify_type"
                                     and engine.dialect.name == "sqlite")]


def test_the_migrated_database_matches_the_models(engine: sa.Engine) -> None:
    assert _differences(engine) == []


def test_every_migration_can_be_undone_and_done_again(engine: sa.Engine) -> None:
    cfg = migrate.alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    with engine.connect() as conn:
        assert sa.inspect(conn).get_table_names() == ["alembic_version"]
    migrate.upgrade(engine)
    assert _differences(engine) == []
