"""Monitoring interviews imported through the API: an upload into a sent cycle answers how many rows
were read, added and there already; a file with problems answers 422 with each of them and writes
nothing; a cycle not yet sent answers 409; who may not import gets 403, another organisation 404."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.assistance.models import PdmResponse
from jatigi.core.db import session_scope
from jatigi.web.app import UPLOAD_PATTERN, create_app
from tests import factories as f
from tests.unit.assistance import feedback_data as fd
from tests.unit.assistance.test_pdm import HEADER, _six
from tests.web import count_rows

API = "/api/v1/assistance"
USERS = ("carla", "ivan", "bert", "vera")


@pytest.fixture
def paid(engine: sa.Engine) -> fd.Paid:
    with session_scope(engine) as s:
        fd.people(s)
        f.user(s, "vera", "ONGA", "viewer")
        return fd.programme(s, households=6, states=("reconciled", "sent", "prepared"))


@pytest.fixture
def tokens(paid: fd.Paid, engine: sa.Engine) -> dict[str, dict[str, str]]:
    with session_scope(engine) as s:
        return {name: {"Authorization": f"Bearer {f.token(s, name)}"} for name in USERS}


@pytest.fixture
def client(tokens: dict[str, dict[str, str]]) -> Iterator[TestClient]:
    with TestClient(create_app(), headers={"Accept-Language": "en"}) as c:
        yield c


def _file(lines: list[str], sep: str = ",", name: str = "pdm.csv") -> dict[str, tuple[str, bytes, str]]:
    text = "\n".join([HEADER.replace(",", sep), *[line.replace(",", sep) for line in lines]]) + "\n"
    return {"file": (name, text.encode("utf-8"), "text/csv")}


def test_import_then_again_adds_nothing(client: TestClient, tokens: dict[str, dict[str, str]], paid: fd.Paid,
                                        engine: sa.Engine) -> None:
    carla, url = tokens["carla"], f"{API}/cycles/{paid.cycles[1]}/pdm"
    done = client.post(url, files=_file(_six(paid)), headers=carla)
    assert done.status_code == 200, done.text
    out = done.json()
    assert (out["rows"], out["added"], out["already"], out["interviews"]) == (6, 6, 0, 6)
    assert out["message"] == "6 interviews added, 0 already there (6 rows read)." and out["file"] == "pdm.csv"
    indicators = client.get(url, headers=carla).json()
    assert indicators["interviews"] == 6
    assert {r["name"]: (r["yes"], r["of"]) for r in indicators["indicators"]}["received"] == (5, 6)
    again = client.post(url, files=_file(_six(paid)), headers=carla).json()
    assert (again["rows"], again["added"], again["already"], again["interviews"]) == (6, 0, 6, 6)
    assert count_rows(engine, PdmResponse) == 6
    # Semicolons, named by the optional delimiter; the sent cycle 2.
    line = f"{paid.references[2][0]},,2024-07-10,yes,yes,30000,yes,food,yes,no,yes,Awa,s1"
    semi = client.post(f"{API}/cycles/{paid.cycles[2]}/pdm", files=_file([line], ";"), data={"delimiter": ";"},
                       headers=carla)
    assert semi.status_code == 200, semi.text
    assert semi.json()["added"] == 1


def test_a_file_with_problems_is_refused_whole(client: TestClient, tokens: dict[str, dict[str, str]], paid: fd.Paid,
                                               engine: sa.Engine) -> None:
    carla, url = tokens["carla"], f"{API}/cycles/{paid.cycles[1]}/pdm"
    other = paid.references[2][0]
    bad = client.post(url, files=_file([*_six(paid)[:2], f"{other},,2024-06-20,maybe,,,,,,,,,u9"]), headers=carla)
    assert bad.status_code == 422
    out = bad.json()
    assert out["detail"] == "Nothing was written: 2 problems in 3 rows." and out["problem_count"] == 2
    assert [(p["row"], p["column"], p["value"]) for p in out["problems"]] == [
        (4, "received", "maybe"), (4, "payment_reference", other)]
    assert out["problems"][1]["message"] == "This payment belongs to cycle 2, not to cycle 1 being imported."
    assert count_rows(engine, PdmResponse) == 0
    wrong = client.post(url, files={"file": ("notes.csv", b"name,surveyed_on\nAwa,2024-06-20\n", "text/csv")},
                        headers=carla)
    assert wrong.status_code == 422 and wrong.json()["problems"][0]["column"] == "file"
    assert "no column for the payment's reference" in wrong.json()["problems"][0]["message"]
    no_file = client.post(url, headers=carla)
    assert no_file.status_code == 422
    assert count_rows(engine, PdmResponse) == 0


def test_state_permission_and_organisation(client: TestClient, tokens: dict[str, dict[str, str]], paid: fd.Paid,
                                           engine: sa.Engine) -> None:
    url = f"{API}/cycles/{paid.cycles[1]}/pdm"
    early = client.post(f"{API}/cycles/{paid.cycles[3]}/pdm", files=_file(_six(paid)[:1]), headers=tokens["carla"])
    assert early.status_code == 409 and "monitoring follows a distribution" in early.json()["detail"]
    for name in ("ivan", "vera"):  # the IM officer reads the indicators; neither imports
        refused = client.post(url, files=_file(_six(paid)), headers=tokens[name])
        assert refused.status_code == 403 and "assistance:monitoring:write" in refused.json()["detail"], name
    assert client.get(url, headers=tokens["ivan"]).status_code == 200
    assert client.post(url, files=_file(_six(paid)), headers=tokens["bert"]).status_code == 404
    assert count_rows(engine, PdmResponse) == 0


def test_a_file_larger_than_an_ordinary_request_is_accepted(tokens: dict[str, dict[str, str]], paid: fd.Paid) -> None:
    assert UPLOAD_PATTERN.fullmatch(f"{API}/cycles/12/pdm") and UPLOAD_PATTERN.fullmatch("/assistance/cycles/12/pdm")
    big = _file(_six(paid) + [""] * 2000)  # empty rows are skipped
    with TestClient(create_app(max_body_bytes=1000), headers={"Accept-Language": "en"}) as small:
        done = small.post(f"{API}/cycles/{paid.cycles[1]}/pdm", files=big, headers=tokens["carla"])
        assert done.status_code == 200, done.text
        assert done.json()["added"] == 6
        other = small.post(f"{API}/programmes/PRG-0001/cycles", content=b"x" * 2000, headers=tokens["carla"])
        assert other.status_code == 413
