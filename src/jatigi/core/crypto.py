"""Sealing of sensitive fields: authenticated encryption and blind indexes.

The master key lives in a file outside the database (`JATIGI_KEY_FILE`, default `./jatigi.key`,
created with mode 0600 on first use). Two sub-keys are derived from it with HKDF: one for
AES-256-GCM encryption, one for HMAC-SHA256 "blind indexes" that let us find a record by an
exact value (a phone number) without storing the value in clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from jatigi.core.config import get_settings

_PREFIX = "v1:"


class KeyRing:
    def __init__(self, master: bytes) -> None:
        self._aead = AESGCM(_derive(master, b"jatigi field encryption"))
        self._index_key = _derive(master, b"jatigi blind index")

    def seal(self, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        nonce = os.urandom(12)
        ct = self._aead.encrypt(nonce, value.encode("utf-8"), None)
        return _PREFIX + base64.b64encode(nonce + ct).decode("ascii")

    def open(self, token: str | None) -> str | None:
        if not token:
            return None
        raw = base64.b64decode(token[len(_PREFIX) :])
        return self._aead.decrypt(raw[:12], raw[12:], None).decode("utf-8")

    def index(self, value: str | None) -> str | None:
        if not value:
            return None
        return hmac.new(self._index_key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


def load_key(path: Path) -> bytes:
    """Master key 1 of the key file. A missing file is an error, never a new key: a new key would
    seal new values with a key the database does not know (only a new database gets a new key,
    from `core.envelope.master_ring`)."""
    from jatigi.core.envelope import MasterKeyError, missing_key_file, read_key_file
    from jatigi.core.i18n import _

    if not path.exists():
        raise missing_key_file(path)
    keys = read_key_file(path)
    if 1 not in keys:
        raise MasterKeyError(_("Master key {n} is missing from the key file {path}.", n=1, path=str(path)))
    return keys[1]


def create_key(path: Path) -> bytes:
    """Write a new key file with one master key (mode 0600); refuses to overwrite one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(key).decode("ascii") + "\n")
    return key


@lru_cache(maxsize=4)
def _keyring_for(path: str) -> KeyRing:
    return KeyRing(load_key(Path(path)))


def keyring() -> KeyRing:
    return _keyring_for(str(get_settings().key_file))


_NON_DIGITS = re.compile(r"\D+")


def normalise_phone(raw: str | None, country_code: str = "223") -> str | None:
    """Reduce a phone number to digits with its country code (Mali: 223, 8 local digits)."""
    if raw is None:
        return None
    digits = _NON_DIGITS.sub("", str(raw))
    if not digits:
        return None
    if digits.startswith("00"):
        digits = digits[2:]
    if len(digits) == 8:
        digits = country_code + digits
    return digits
