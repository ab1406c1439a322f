"""Saved vulnerability models: shipped ones appear once, every version is kept, a wrong text or a
version already used is refused with its line, and only those allowed may save."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from jatigi.core.audit import AuditEvent
from jatigi.core.authz import SYSTEM
from jatigi.core.db import read_session_scope, session_scope
from jatigi.core.errors import Forbidden, NotFound, ValidationFailed
from jatigi.targeting import store
from jatigi.targeting.model import ModelError, shipped_models
from jatigi.targeting.tables import ModelVersion
from tests import factories as f


def _text(version: int = 2, when: str = "crowding >= 3") -> str:
    text = shipped_models()["protection"].read_text(encoding="utf-8")
    text = store.with_head(text, version=version)
    return text.replace('when = "crowding >= 3"', f'when = "{when}"')


def _count(engine: sa.Engine, *where: sa.ColumnElement[bool]) -> int:
    with session_scope(engine) as s:
        return s.scalar(sa.select(sa.func.count()).select_from(ModelVersion).where(*where)) or 0


@pytest.fixture
def people(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "ONGA")
        f.user(s, "iris", "ONGA", "im_officer")
        f.user(s, "rose", "ONGA", "registration_officer")
        f.user(s, "vera", "ONGA", "viewer")


def test_shipped_models_are_saved_once_even_when_asked_twice(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        assert store.ensure_shipped(s) == 3
    with session_scope(engine) as s:
        assert store.ensure_shipped(s) == 0
    assert _count(engine) == 3
    with session_scope(engine) as s:
        shipped = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "targeting.model.shipped")).all()
        assert sorted(e.entity_id for e in shipped) == ["economic", "food_security", "protection"]


def test_two_processes_saving_the_shipped_models_at_once_save_them_once(engine: sa.Engine) -> None:
    def ensure() -> int:
        with session_scope(engine) as s:
            return store.ensure_shipped(s)

    with ThreadPoolExecutor(2) as pool:
        done = [pool.submit(ensure) for _ in range(2)]
    assert sum(d.result() for d in done) == 3
    assert _count(engine) == 3


def test_a_read_only_request_lists_the_shipped_models_and_saves_them_after(engine: sa.Engine, people: None) -> None:
    with read_session_scope(engine) as s:
        models = store.list_models(session=s, actor=f.actor(s, "rose"))
        assert [(m.name, m.version, m.saved_by) for m in models] == [
            ("economic", 1, None), ("food_security", 1, None), ("protection", 1, None)]
        assert models[2].title == "Protection vulnerability" and models[2].criteria == 12
        assert not any(m.uses_displacement_status for m in models)
    assert _count(engine) == 3


def test_versions_are_kept_and_a_given_one_can_be_read(engine: sa.Engine, people: None) -> None:
    with session_scope(engine) as s:
        row = store.save(session=s, actor=f.actor(s, "iris"), text=_text(2, "crowding >= 4"), note="Stricter")
        assert (row.name, row.version, row.note) == ("protection", 2, "Stricter")
    with session_scope(engine) as s:
        latest = store.get_model(session=s, actor=f.actor(s, "rose"), name="protection")
        first = store.get_model(session=s, actor=f.actor(s, "rose"), name="protection", version=1)
    assert latest.version == 2 and "crowding >= 4" in latest.text
    assert [(v.version, v.saved_by, v.note) for v in latest.versions] == [(2, "iris", "Stricter"), (1, None, None)]
    assert first.version == 1 and "crowding >= 3" in first.text and first.model.criteria[-2].id == "overcrowding"
    assert latest.sha256 == store.sha256(latest.text) != first.sha256
    with session_scope(engine) as s:
        event = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "targeting.model.save")).one()
        assert event.actor == "iris" and event.entity_id == "protection"
        assert event.detail is not None and (event.detail["before"], event.detail["after"]) == (1, 2)
        with pytest.raises(NotFound, match="has no version 7; its versions are: 1, 2"):
            store.get_model(session=s, actor=SYSTEM, name="protection", version=7)
        with pytest.raises(NotFound, match="no model called nothing"):
            store.get_model(session=s, actor=SYSTEM, name="nothing")


def test_a_version_already_used_is_refused_with_the_one_to_use(engine: sa.Engine, people: None) -> None:
    with session_scope(engine) as s, pytest.raises(ModelError) as caught:
        store.save(session=s, actor=f.actor(s, "iris"), text=_text(1))
    (problem,) = caught.value.problems
    assert (problem.line, problem.key) == (8, "model.version")
    assert "Version 1 of protection is saved already: set version = 2" in problem.reason
    assert _count(engine, ModelVersion.name == "protection") == 1


def test_a_wrong_text_is_refused_with_its_line_and_nothing_saved(engine: sa.Engine, people: None) -> None:
    bad = _text(2, "crowdin >= 3")
    with session_scope(engine) as s:
        problems = store.check(session=s, actor=f.actor(s, "rose"), text=bad)
        assert [(p.line, p.key) for p in problems] == [(76, "criteria[11].when")]
        assert "crowdin" in problems[0].reason
        assert store.check(session=s, actor=f.actor(s, "rose"), text=_text(2)) == []
    assert _count(engine) == 0  # checking writes nothing
    with session_scope(engine) as s, pytest.raises(ModelError):
        store.save(session=s, actor=f.actor(s, "iris"), text=bad)
    assert _count(engine, ModelVersion.version == 2) == 0


def test_limits_of_size_criteria_and_note(engine: sa.Engine, people: None) -> None:
    huge = _text(2) + "# " + "x" * (200 * 1024) + "\n"
    many = _text(2) + "".join(f'\n[[criteria]]\nid = "c{i}"\nlabel = {{ fr = "c", en = "c" }}\n'
                              f'when = "crowding >= {i}"\npoints = 1\n' for i in range(200))
    with session_scope(engine) as s:
        iris = f.actor(s, "iris")
        assert "at most 200 kB" in store.check(session=s, actor=iris, text=huge)[0].reason
        assert "at most 200 criteria; this one has 212" in store.check(session=s, actor=iris, text=many)[0].reason
        with pytest.raises(ValidationFailed, match="at most 400 characters"):
            store.save(session=s, actor=iris, text=_text(2), note="n" * 401)


def test_a_new_model_may_not_take_the_name_of_one_that_exists(engine: sa.Engine, people: None) -> None:
    copy = store.with_head(_text(2), ident="protection_bamako", version=1)
    with session_scope(engine) as s:
        iris = f.actor(s, "iris")
        assert "A model called protection exists already" in store.check(
            session=s, actor=iris, text=_text(2), new=True)[0].reason
        row = store.save(session=s, actor=iris, text=copy, new=True)
        assert (row.name, row.version) == ("protection_bamako", 1)
    assert _count(engine) == 4


def test_only_those_allowed_may_read_or_save(engine: sa.Engine, people: None) -> None:
    with session_scope(engine) as s:
        with pytest.raises(Forbidden, match="targeting:model:write"):
            store.save(session=s, actor=f.actor(s, "rose"), text=_text(2))
        with pytest.raises(Forbidden, match="targeting:run:read"):
            store.list_models(session=s, actor=f.actor(s, "vera"))
        with pytest.raises(Forbidden):
            store.get_model(session=s, actor=f.actor(s, "vera"), name="protection")
    assert _count(engine, ModelVersion.version == 2) == 0
