"""Envelope encryption: a data key per record, wrapped by a master key kept outside the database.

Protection records (cases, referrals, tracing requests) each get their own random 256-bit data key.
Their sensitive fields are sealed with it (AES-256-GCM, the column's name as associated data, so a
sealed value cannot be moved to another column or record unnoticed). The data key is stored only
wrapped (AES-256-GCM) by a master key from the key file (`JATIGI_KEY_FILE`).

The key file holds one or more master keys, one per line (`<id> <base64>`; a single bare base64
line, as written by earlier versions, is key 1). The highest id wraps new data keys;
`jatigi keys rotate` adds a key and re-wraps every data key under it, without touching the sealed
fields themselves. The registry's own sealed fields (phones, whereabouts) stay under key 1, which
a rotation therefore keeps in the file.

The database remembers a check value of each master key (`master_keys`). Before anything is opened
or sealed, the key file is compared with it: a missing file, a missing key or a different key is
a clear error — never a silently new key, never plaintext.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import Mapped, Session, mapped_column

from jatigi.core.config import get_settings
from jatigi.core.db import READ_ONLY, Base, BigId, after_reading, utcnow
from jatigi.core.errors import JatigiError
from jatigi.core.i18n import _

_SEALED = "e1:"
_CHECK = b"jatigi master key check"


class MasterKey(Base):
    """A master key the database has seen: its id and a check value (never the key)."""

    __tablename__ = "master_keys"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    check_value: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)


class DataKey(Base):
    """One record's data key, wrapped by master key `master_key_id`."""

    __tablename__ = "data_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    master_key_id: Mapped[int] = mapped_column(sa.ForeignKey("master_keys.id"), index=True)
    wrapped: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)


class MasterKeyError(JatigiError):
    """The key file does not match the database: nothing sealed can be opened or written."""

    status_code = 503


# ---- the key file ---------------------------------------------------------------------------


def read_key_file(path: Path) -> dict[int, bytes]:
    """The master keys of a key file by id; raises MasterKeyError if it is unreadable."""
    try:
        lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    except OSError as exc:
        raise MasterKeyError(_("The master key file {path} cannot be read ({error}).", path=str(path),
                               error=exc.strerror or str(exc))) from None
    keys: dict[int, bytes] = {}
    try:
        if len(lines) == 1 and " " not in lines[0]:
            keys[1] = base64.b64decode(lines[0], validate=True)
        else:
            for line in lines:
                ident, _sep, b64 = line.partition(" ")
                keys[int(ident)] = base64.b64decode(b64.strip(), validate=True)
    except ValueError:
        raise MasterKeyError(_("The master key file {path} is damaged: each line must be a key number and "
                               "a key in base64.", path=str(path))) from None
    if not keys or any(len(k) != 32 for k in keys.values()):
        raise MasterKeyError(_("The master key file {path} is damaged: each key must be 32 bytes.", path=str(path)))
    return keys


def write_key_file(path: Path, keys: dict[int, bytes]) -> None:
    """Write the key file anew (mode 0600), atomically."""
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        for ident in sorted(keys):
            fh.write(f"{ident} {base64.b64encode(keys[ident]).decode('ascii')}\n")
    os.replace(tmp, path)


def check_value(key: bytes) -> str:
    return hmac.new(key, _CHECK, hashlib.sha256).hexdigest()


# ---- the master ring: verified against the database once per process ------------------------


@dataclass(frozen=True)
class MasterRing:
    keys: dict[int, bytes]

    @property
    def current(self) -> int:
        return max(self.keys)

    def wrap(self, data_key: bytes, master_id: int | None = None) -> tuple[int, str]:
        ident = self.current if master_id is None else master_id
        nonce = os.urandom(12)
        ct = AESGCM(self.keys[ident]).encrypt(nonce, data_key, b"data key")
        return ident, base64.b64encode(nonce + ct).decode("ascii")

    def unwrap(self, master_id: int, wrapped: str) -> bytes:
        if master_id not in self.keys:
            raise MasterKeyError(_("Master key {n} is missing from the key file.", n=master_id))
        try:
            raw = base64.b64decode(wrapped)
            return AESGCM(self.keys[master_id]).decrypt(raw[:12], raw[12:], b"data key")
        except (InvalidTag, ValueError):
            raise MasterKeyError(_("A data key does not open with master key {n}: the key file is not the one "
                                   "this database was sealed with.", n=master_id)) from None


_verified: dict[tuple[str, str], MasterRing] = {}
_lock = threading.Lock()


def _database(session: Session) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=True)


@dataclass(frozen=True)
class KeyCheck:
    """How the key file compares with the database (`jatigi keys check`)."""

    path: Path
    known: tuple[int, ...]  # master keys the database has seen
    in_file: tuple[int, ...]  # master keys in the key file
    ignored: tuple[int, ...]  # keys of the file the database does not know: never used


def missing_key_file(path: Path) -> MasterKeyError:
    return MasterKeyError(_("The master key file {path} is missing. This database was sealed with a master key: "
                            "put its key file back (JATIGI_KEY_FILE), or nothing sealed can be opened.",
                            path=str(path)))


def _compare(known: dict[int, str], path: Path) -> dict[int, bytes]:
    """The key file's keys, checked against those the database knows; raises MasterKeyError."""
    if known and not path.exists():
        raise missing_key_file(path)
    keys = read_key_file(path)
    for ident, check in sorted(known.items()):
        if ident not in keys:
            raise MasterKeyError(_("Master key {n} is missing from the key file {path}.", n=ident,
                                   path=str(path)))
        if not hmac.compare_digest(check_value(keys[ident]), check):
            raise MasterKeyError(_("The key file {path} does not hold the master key this database was "
                                   "sealed with (key {n} differs).", path=str(path), n=ident))
    return keys


def _known(session: Session) -> dict[int, str]:
    return {row.id: row.check_value for row in session.scalars(sa.select(MasterKey))}


def check_key_file(session: Session) -> KeyCheck:
    """Compare the key file with the database without creating or recording anything."""
    path = get_settings().key_file
    known = _known(session)
    if not known and not path.exists():
        return KeyCheck(path, (), (), ())
    keys = _compare(known, path)
    ignored = tuple(sorted(set(keys) - set(known))) if known else ()
    return KeyCheck(path, tuple(sorted(known)), tuple(sorted(keys)), ignored)


def master_ring(session: Session) -> MasterRing:
    """The master keys, verified against the database (once per process, database and key file).

    A database that has never seen a master key records those of the key file (created, if it does
    not exist, only then). A database that has: the key file must hold each of its keys.
    """
    path = get_settings().key_file
    cache_key = (_database(session), str(path))
    ring = _verified.get(cache_key)
    if ring is not None:
        return ring
    with _lock:
        known = _known(session)
        if not known and not path.exists():
            from jatigi.core.crypto import create_key

            create_key(path)
        keys = _compare(known, path)
        if not known:
            _record_keys(session, keys)
        else:
            # A key the database does not know (a rotation whose transaction failed) is never used.
            keys = {ident: key for ident, key in keys.items() if ident in known}
        ring = MasterRing(keys)
        _verified[cache_key] = ring
        return ring


def _record_keys(session: Session, keys: dict[int, bytes]) -> None:
    rows = [{"id": i, "check_value": check_value(k), "created_at": utcnow()} for i, k in keys.items()]

    def write(writer: Session) -> None:
        have = set(writer.scalars(sa.select(MasterKey.id)))
        missing = [row for row in rows if row["id"] not in have]
        if missing:
            writer.execute(sa.insert(MasterKey), missing)

    if READ_ONLY in session.info:
        after_reading(session, write)
    else:
        write(session)


def verify_key_file(session: Session) -> None:
    """Stop now, with a clear message, if the key file is not the one this database was sealed
    with (a database not migrated yet has nothing to compare with)."""
    if sa.inspect(session.connection()).has_table(MasterKey.__tablename__):
        master_ring(session)


def register_master_keys(*, session: Session) -> None:
    """Record the key file's master keys in a database that has none yet (after a migration)."""
    master_ring(session)


def forget_verified() -> None:
    """Verify the key file again at next use (after a rotation, in tests)."""
    with _lock:
        _verified.clear()


# ---- data keys and sealed fields ------------------------------------------------------------


class RecordKey:
    """A record's data key, opened: seals and opens that record's fields."""

    def __init__(self, data_key_id: int, key: bytes) -> None:
        self.id = data_key_id
        self._aead = AESGCM(key)

    def seal(self, column: str, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        nonce = os.urandom(12)
        ct = self._aead.encrypt(nonce, value.encode("utf-8"), f"{self.id}:{column}".encode())
        return _SEALED + base64.b64encode(nonce + ct).decode("ascii")

    def open(self, column: str, token: str | None) -> str | None:
        if not token:
            return None
        if not token.startswith(_SEALED):
            raise MasterKeyError(_("A sealed field is not in the expected form: it may have been altered."))
        try:
            raw = base64.b64decode(token[len(_SEALED):])
            return self._aead.decrypt(raw[:12], raw[12:], f"{self.id}:{column}".encode()).decode("utf-8")
        except (InvalidTag, ValueError):
            raise MasterKeyError(_("A sealed field does not open: it has been altered or moved.")) from None


def new_record_key(session: Session) -> RecordKey:
    """A fresh data key for a new record, stored wrapped."""
    ring = master_ring(session)
    if session.scalar(sa.select(sa.func.max(MasterKey.id))) != ring.current:
        forget_verified()  # another process rotated the master keys: wrap under the newest
        ring = master_ring(session)
    key = secrets.token_bytes(32)
    master_id, wrapped = ring.wrap(key)
    row = DataKey(master_key_id=master_id, wrapped=wrapped)
    session.add(row)
    session.flush()
    return RecordKey(row.id, key)


def record_key(session: Session, data_key_id: int) -> RecordKey:
    """The opened data key of a record."""
    row = session.get(DataKey, data_key_id)
    if row is None:
        raise MasterKeyError(_("A record's data key is missing: the record cannot be opened."))
    ring = master_ring(session)
    if row.master_key_id not in ring.keys:
        # Rotated by another process (`jatigi keys rotate` while serving): read the key file again.
        forget_verified()
        ring = master_ring(session)
    return RecordKey(row.id, ring.unwrap(row.master_key_id, row.wrapped))


def destroy_record_key(session: Session, data_key_id: int) -> None:
    """Delete a data key: what it sealed can never be opened again (crypto-shredding)."""
    session.execute(sa.delete(DataKey).where(DataKey.id == data_key_id))


@dataclass(frozen=True)
class Rotation:
    new_master_id: int
    rewrapped: int


def rotate(session: Session) -> Rotation:
    """Add a master key to the key file and re-wrap every data key under it, in one transaction.

    The new key file is written only after every data key has been re-wrapped in the database
    (not yet committed); the old keys stay in the file (key 1 also seals the registry's fields).
    """
    path = get_settings().key_file
    forget_verified()  # verify the file again: another process may have rotated meanwhile
    ring = master_ring(session)
    in_file = read_key_file(path)  # keys the database does not know stay in the file, unused
    new_id = max(*in_file, *_known(session), ring.current) + 1
    new_key = secrets.token_bytes(32)
    keys = {**in_file, new_id: new_key}
    new_ring = MasterRing({**ring.keys, new_id: new_key})
    session.add(MasterKey(id=new_id, check_value=check_value(new_key)))
    session.flush()
    n = 0
    last = 0
    while True:
        rows = session.execute(sa.select(DataKey.id, DataKey.master_key_id, DataKey.wrapped)
                               .where(DataKey.id > last).order_by(DataKey.id).limit(5000)).all()
        if not rows:
            break
        updates = []
        for ident, master_id, wrapped in rows:
            _mid, rewrapped = new_ring.wrap(ring.unwrap(master_id, wrapped), new_id)
            updates.append({"id": ident, "master_key_id": new_id, "wrapped": rewrapped})
        session.execute(sa.update(DataKey), updates)  # ORM bulk update by primary key
        n += len(rows)
        last = rows[-1][0]
    session.flush()
    for obj in list(session.identity_map.values()):
        if isinstance(obj, DataKey):
            session.expire(obj)  # the bulk update does not refresh loaded rows
    write_key_file(path, keys)
    forget_verified()
    return Rotation(new_id, n)
