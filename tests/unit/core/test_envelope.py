"""Envelope encryption: the key file checked against the database, rotation, a data key per record."""

from __future__ import annotations

import base64
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core import envelope
from jatigi.core.config import get_settings
from jatigi.protection.sealing import open_json, open_text, opened_key
from tests import protection_factories as pf


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the tests' key file, this test's own (a rotation rewrites it)."""
    copy = tmp_path / "own.key"
    shutil.copyfile(get_settings().key_file, copy)
    monkeypatch.setenv("JATIGI_KEY_FILE", str(copy))
    envelope.forget_verified()
    yield copy
    envelope.forget_verified()


def _random_key_line(ident: int) -> str:
    return f"{ident} {base64.b64encode(secrets.token_bytes(32)).decode()}\n"


def test_rotation_rewraps_every_data_key_and_cases_still_open(session: Session, key_file: Path) -> None:
    team = pf.team(session)
    cases = [pf.case(session, team.caseworker, team.supervisor, name=f"Personne {i}") for i in range(3)]
    before = dict(session.execute(sa.select(envelope.DataKey.id, envelope.DataKey.wrapped)).all())
    done = envelope.rotate(session)
    assert done.new_master_id == 2 and done.rewrapped == len(before) >= 3
    rows = session.execute(sa.select(envelope.DataKey.id, envelope.DataKey.master_key_id,
                                     envelope.DataKey.wrapped)).all()
    assert {master for _id, master, _w in rows} == {2}
    assert all(wrapped != before[ident] for ident, _m, wrapped in rows)
    assert set(envelope.read_key_file(key_file)) == {1, 2}
    assert set(session.scalars(sa.select(envelope.MasterKey.id))) == {1, 2}
    session.commit()
    envelope.forget_verified()
    for i, case in enumerate(cases):
        key = opened_key(session, case)
        assert open_json(key, "person_sealed", case.person_sealed)["name"] == f"Personne {i}"
        assert open_text(key, "summary_sealed", case.summary_sealed) == "Agressée au marché de Médine."
    assert envelope.check_key_file(session).known == (1, 2)


def test_a_key_file_with_an_unknown_key_works_and_the_key_is_never_used(session: Session, key_file: Path) -> None:
    envelope.write_key_file(key_file, {**envelope.read_key_file(key_file), 9: secrets.token_bytes(32)})
    envelope.forget_verified()
    assert envelope.check_key_file(session).ignored == (9,)
    assert envelope.master_ring(session).current == 1
    team = pf.team(session)
    case = pf.case(session, team.caseworker, team.supervisor)
    assert session.get(envelope.DataKey, case.data_key_id).master_key_id == 1  # type: ignore[union-attr]


def test_a_wrong_key_file_is_refused(session: Session, key_file: Path) -> None:
    key_file.write_text(_random_key_line(1))
    envelope.forget_verified()
    with pytest.raises(envelope.MasterKeyError, match="does not hold the master key"):
        envelope.master_ring(session)
    with pytest.raises(envelope.MasterKeyError, match="key 1 differs"):
        envelope.check_key_file(session)


def test_a_missing_key_file_is_refused_and_not_made_anew(session: Session, key_file: Path) -> None:
    key_file.unlink()
    envelope.forget_verified()
    with pytest.raises(envelope.MasterKeyError, match="is missing"):
        envelope.master_ring(session)
    assert not key_file.exists()


def test_a_sealed_field_moved_to_another_column_or_record_does_not_open(session: Session, key_file: Path) -> None:
    team = pf.team(session)
    one = pf.case(session, team.caseworker, team.supervisor)
    two = pf.case(session, team.caseworker, team.supervisor)
    with pytest.raises(envelope.MasterKeyError):
        open_text(opened_key(session, one), "contact_sealed", one.summary_sealed)
    with pytest.raises(envelope.MasterKeyError):
        open_text(opened_key(session, two), "summary_sealed", one.summary_sealed)


def test_a_destroyed_data_key_leaves_nothing_to_open(session: Session, key_file: Path) -> None:
    team = pf.team(session)
    case = pf.case(session, team.caseworker, team.supervisor)
    assert case.data_key_id is not None
    envelope.destroy_record_key(session, case.data_key_id)
    with pytest.raises(envelope.MasterKeyError, match="data key is missing"):
        envelope.record_key(session, case.data_key_id)
