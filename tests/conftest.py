"""Every test gets a fresh, migrated database: a SQLite file and a throwaway PostgreSQL one."""

from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
import sqlalchemy as sa

_KEYDIR = Path(tempfile.mkdtemp(prefix="jatigi-keys-"))
os.environ["JATIGI_KEY_FILE"] = str(_KEYDIR / "test.key")
os.environ.setdefault("JATIGI_LANG", "en")
os.environ.pop("JATIGI_DATABASE_URL", None)

from jatigi.core import migrate  # noqa: E402
from jatigi.core.db import engine_for, make_engine, session_scope  # noqa: E402
from jatigi.core.i18n import set_language  # noqa: E402
from tests import pg  # noqa: E402

BACKENDS = ["sqlite", "postgresql"]
_counter = itertools.count()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    # Fold the write-ahead log into the file, so that copying the file copies the schema.
    with closing(sqlite3.connect(path)) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[pg.PgCluster | None]:
    if not pg.available():
        if os.environ.get("JATIGI_REQUIRE_POSTGRES") == "1":
            pytest.fail("JATIGI_REQUIRE_POSTGRES=1 but initdb/pg_ctl are not on PATH")
        yield None
        return
    cluster = pg.PgCluster()
    cluster.start()
    admin = make_engine(cluster.url())
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("CREATE DATABASE jatigi_template"))
    template = make_engine(cluster.url("jatigi_template"))
    migrate.upgrade(template)
    template.dispose()
    admin.dispose()
    yield cluster
    cluster.stop()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path,
           monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "sqlite":
        target = tmp_path / "jatigi.db"
        shutil.copyfile(sqlite_template, target)
        url = f"sqlite:///{target}"
    else:
        cluster = request.getfixturevalue("pg_cluster")
        if cluster is None:
            pytest.skip("PostgreSQL binaries not on PATH")
        name = f"t{os.getpid()}_{next(_counter)}"
        admin = engine_for(cluster.url())
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE jatigi_template'))
        url = cluster.url(name)
    monkeypatch.setenv("JATIGI_DATABASE_URL", url)
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    eng = engine_for(db_url)
    yield eng
    eng.dispose()
    engine_for.cache_clear()


@pytest.fixture
def session(engine: sa.Engine):  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        yield s


@pytest.fixture(autouse=True)
def _english() -> None:
    set_language("en")
