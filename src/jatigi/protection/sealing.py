"""Sealing and opening the fields of one protection record under its own data key."""

from __future__ import annotations

import json
from typing import Any, Protocol

from sqlalchemy.orm import Session

from jatigi.core import envelope
from jatigi.core.errors import Conflict
from jatigi.core.i18n import _


class Keyed(Protocol):
    data_key_id: int | None


def key_for(session: Session, record: Keyed) -> envelope.RecordKey:
    """The record's data key, created on first use."""
    if record.data_key_id is None:
        key = envelope.new_record_key(session)
        record.data_key_id = key.id
        return key
    return envelope.record_key(session, record.data_key_id)


def opened_key(session: Session, record: Keyed) -> envelope.RecordKey | None:
    """The record's data key to read it, or None if the record was anonymised (key destroyed)."""
    if record.data_key_id is None:
        return None
    return envelope.record_key(session, record.data_key_id)


def seal_json(key: envelope.RecordKey, column: str, value: dict[str, Any] | None) -> str | None:
    if not value:
        return None
    return key.seal(column, json.dumps(value, ensure_ascii=False, sort_keys=True))


def open_json(key: envelope.RecordKey | None, column: str, token: str | None) -> dict[str, Any]:
    if key is None or not token:
        return {}
    text = key.open(column, token)
    return json.loads(text) if text else {}


def open_text(key: envelope.RecordKey | None, column: str, token: str | None) -> str | None:
    if key is None or not token:
        return None
    return key.open(column, token)


def require_key(key: envelope.RecordKey | None) -> envelope.RecordKey:
    if key is None:
        raise Conflict(_("This record was anonymised after its retention period: nothing of it can be changed."))
    return key
