"""Fast bulk inserts for large, already-validated batches.

SQLAlchemy's executemany processes every parameter of every row in Python; for a million rows
that costs more than the insert itself. Here rows are turned into driver-ready tuples once
(`rows_for`, which needs no connection and may run in another process) and handed to the driver
directly (`insert_rows`): `executemany` on SQLite, `COPY` on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

Converter = Callable[[Any], Any]


@dataclass
class Rows:
    """Values ready for the driver, in the order of `names`."""

    names: list[str]
    values: list[tuple[Any, ...]]


def _json(value: Any) -> str | None:
    # json.dumps with default arguments takes the C encoder's fast path.
    return None if value is None else json.dumps(value)


def _converter(col: sa.ColumnElement[Any], dialect: str) -> Converter | None:
    t = col.type
    if isinstance(t, sa.JSON):
        return _json
    if dialect != "sqlite":
        return None
    if isinstance(t, sa.DateTime):
        return lambda v: v.isoformat(sep=" ", timespec="microseconds")
    if isinstance(t, sa.Date):
        return lambda v: (v.date() if isinstance(v, datetime) else v).isoformat()
    if isinstance(t, sa.Boolean):
        return lambda v: int(bool(v))
    return None


def rows_for(table: sa.FromClause, rows: Sequence[dict[str, Any]], dialect: str) -> Rows:
    """Dicts keyed by column name (all with the same keys) as driver-ready tuples."""
    if not rows:
        return Rows([], [])
    names = list(rows[0])
    get = itemgetter(*names)
    data: list[tuple[Any, ...]] = [get(r) for r in rows] if len(names) > 1 else [(get(r),) for r in rows]
    todo = [(i, f) for i, f in enumerate(_converter(table.c[n], dialect) for n in names) if f is not None]
    if not todo:
        return Rows(names, data)
    out = []
    for values in data:
        mutable = list(values)
        for i, f in todo:
            v = mutable[i]
            if v is not None:
                mutable[i] = f(v)
        out.append(tuple(mutable))
    return Rows(names, out)


def insert_rows(conn: sa.Connection, table: sa.FromClause, rows: Rows) -> None:
    if not rows.values:
        return
    table_name: str = table.name  # type: ignore[attr-defined]
    columns = ", ".join(f'"{n}"' for n in rows.names)
    dialect = conn.dialect.name
    if dialect == "sqlite":
        marks = ", ".join("?" for _ in rows.names)
        conn.exec_driver_sql(f'INSERT INTO "{table_name}" ({columns}) VALUES ({marks})', rows.values)
    elif dialect == "postgresql":
        raw: Any = conn.connection.dbapi_connection
        with raw.cursor() as cur, cur.copy(f'COPY "{table_name}" ({columns}) FROM STDIN') as copy:
            for values in rows.values:
                copy.write_row(values)
    else:
        raise ValueError(f"bulk inserts support SQLite and PostgreSQL, not {dialect}")


def bulk_insert(conn: sa.Connection, table: sa.FromClause, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts keyed by column name; all rows with the same keys) into `table`."""
    insert_rows(conn, table, rows_for(table, rows, conn.dialect.name))
