"""Settings read from the environment, with defaults that work on a field laptop."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path


def _default_db_url() -> str:
    return "sqlite:///" + str(Path("jatigi.db").resolve())


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=_default_db_url)
    key_file: Path = field(default_factory=lambda: Path("jatigi.key").resolve())
    language: str = "fr"
    retention_days: int = 5 * 365
    cod_dir: Path | None = None
    # Closed protection cases and tracing requests are anonymised this many days after closure.
    protection_retention_days: int = 365

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        cod = env.get("JATIGI_COD_DIR")
        return cls(
            database_url=env.get("JATIGI_DATABASE_URL") or _default_db_url(),
            key_file=Path(env.get("JATIGI_KEY_FILE") or "jatigi.key").resolve(),
            language=env.get("JATIGI_LANG", "fr"),
            retention_days=int(env.get("JATIGI_RETENTION_DAYS", str(5 * 365))),
            cod_dir=Path(cod) if cod else None,
            protection_retention_days=int(env.get("JATIGI_PROTECTION_RETENTION_DAYS") or "365"),
        )


_KEYS = ("JATIGI_DATABASE_URL", "JATIGI_KEY_FILE", "JATIGI_LANG", "JATIGI_RETENTION_DAYS", "JATIGI_COD_DIR",
         "JATIGI_PROTECTION_RETENTION_DAYS")


def get_settings() -> Settings:
    """The settings of the environment as it is now (read again whenever it changes)."""
    return _settings(tuple(os.environ.get(k) for k in _KEYS), os.getcwd())


@lru_cache(maxsize=8)
def _settings(_env: tuple[str | None, ...], _cwd: str) -> Settings:
    return Settings.from_env()
