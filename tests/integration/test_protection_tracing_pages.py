"""Family tracing over HTTP: a caseworker records a request, finds a relative of the registry written
another way, confirms the match and records the reunification; another organisation's caseworker
gets the same 404 for the request as for a made-up code; an information officer is refused; forms
refuse bad input beside the field and write nothing; the API and the command line do the same."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.core.audit import AuditEvent
from jatigi.core.db import session_scope
from jatigi.protection.models import TracingMatch, TracingRequest
from tests import factories as f
from tests import protection_factories as pf
from tests.integration.test_protection_security_tokens import second_factor_env
from tests.unit.protection.test_tracing_matching import registry
from tests.web import browsers, count_rows

Open = Callable[..., tuple[TestClient, str]]


@pytest.fixture
def open_as(engine: sa.Engine) -> Iterator[Open]:
    with session_scope(engine) as s:
        pf.team(s)
        f.user(s, "im.a", "PA", role="im_officer")
        registry(s)
    with browsers("/protection/tracing") as opener:
        yield opener


def _form(csrf: str, **overrides: str) -> dict[str, str]:
    data = {"csrf_token": csrf, "sought_given_name": "Mahamadou", "sought_family_name": "Traoré", "sought_sex": "m",
            "sought_birth_year": "1988", "sought_age": "", "last_seen_place": "Marché de Médine", "last_seen_on": "",
            "last_seen_pcode": f.BAMAKO_COMMUNE_IV, "relationship": "sibling", "separated_on": "2024-02-01",
            "inquirer_given_name": "Kadiatou", "inquirer_family_name": "Traoré", "inquirer_sex": "f",
            "inquirer_contact": "76 00 00 01", "case": "", "consented": "1"}
    data.update(overrides)
    return data


def test_request_match_confirm_and_reunify(open_as: Open, engine: sa.Engine) -> None:
    cw, csrf = open_as("cw.a")
    landing = cw.get("/protection/tracing")
    assert landing.status_code == 200 and "No tracing request that you may see." in landing.text
    assert 'name="sought_given_name"' in cw.get("/protection/tracing/new").text

    bad = cw.post("/protection/tracing/new", data=_form(csrf, sought_given_name="", relationship="cousin",
                                                        consented=""))
    assert bad.status_code == 422
    assert 'id="f-sought_given_name-error"' in bad.text and 'id="f-relationship-error"' in bad.text
    assert 'id="f-consent-error"' in bad.text and 'value="Kadiatou"' in bad.text
    assert count_rows(engine, TracingRequest) == 0

    made = cw.post("/protection/tracing/new", data=_form(csrf), follow_redirects=False)
    assert made.status_code == 303
    found = re.search(r"/protection/tracing/(TR-[A-Z0-9]+)", made.headers["location"])
    assert found
    code = found.group(1)
    page = cw.get(made.headers["location"])
    assert page.status_code == 200 and "The request is recorded." in page.text
    assert "Mamadou Traore" in page.text and "Mahmoud" not in page.text
    assert "76 99 88 77" not in page.text and "Organisation PB" in page.text  # whom to contact, never the phone
    assert "Given name: same name" in page.text
    assert code in cw.get("/protection/tracing").text

    with session_scope(engine) as s:
        match_id = s.scalar(sa.select(TracingMatch.id))
    confirmed = cw.post(f"/protection/tracing/{code}/confirm", data={"csrf_token": csrf, "match": str(match_id)})
    assert confirmed.status_code == 200 and "The match is confirmed" in confirmed.text
    note_missing = cw.post(f"/protection/tracing/{code}/close", data={"csrf_token": csrf, "outcome": "reunified",
                                                                       "note": ""})
    assert note_missing.status_code == 422 and 'id="f-note-error"' in note_missing.text
    done = cw.post(f"/protection/tracing/{code}/close", data={"csrf_token": csrf, "outcome": "reunified",
                                                               "note": "Réunis chez leur oncle."})
    assert done.status_code == 200 and "reunified" in done.text and "Réunis chez leur oncle." in done.text

    with session_scope(engine) as s:
        actions = {a for (a,) in s.execute(sa.select(AuditEvent.action).where(
            AuditEvent.entity_type == "tracing_request"))}
        details = " ".join(str(d) for (d,) in s.execute(sa.select(AuditEvent.detail).where(
            AuditEvent.entity_type == "tracing_request")))
    assert {"protection.tracing.create", "protection.tracing.match", "protection.tracing.read",
            "protection.tracing.confirm", "protection.tracing.reunified"} <= actions
    assert "Traor" not in details and "Kadiatou" not in details

    # Need to know: another organisation's caseworker gets the answer of a code that does not exist.
    outsider, _csrf = open_as("cw.b")
    theirs, made_up = outsider.get(f"/protection/tracing/{code}"), outsider.get("/protection/tracing/TR-ZZZZ9999")
    assert theirs.status_code == made_up.status_code == 404
    assert code not in outsider.get("/protection/tracing").text
    assert theirs.text.replace(code, "X") == made_up.text.replace("TR-ZZZZ9999", "X")
    # An information officer holds no tracing permission at all.
    im, _csrf = open_as("im.a")
    assert im.get("/protection/tracing").status_code == 403
    assert im.get(f"/protection/tracing/{code}").status_code == 403


def test_linked_case_without_consent_is_not_searched(open_as: Open, engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        cw_actor = f.actor(s, "cw.a")
        case = pf.case(s, cw_actor, f.actor(s, "sup.a"), case_type="tracing")
        case_code = case.code
    cw, csrf = open_as("cw.a")
    assert case_code in cw.get("/protection/tracing/new").text
    made = cw.post("/protection/tracing/new", data=_form(csrf, case=case_code, consented=""))
    assert made.status_code == 200 and "No consent to tracing on the case: no search is made." in made.text
    assert count_rows(engine, TracingMatch) == 0
    code = re.search(r"Tracing request (TR-[A-Z0-9]+)", made.text).group(1)  # type: ignore[union-attr]
    refused = cw.post(f"/protection/tracing/{code}/search", data={"csrf_token": csrf, "threshold": "0.5"})
    assert refused.status_code == 409 and f"No consent to tracing on case {case_code}" in refused.text


def test_api(open_as: Open, engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        tokens = {name: f.token(s, name) for name in ("cw.a", "cw.b", "im.a")}
    cw, _csrf = open_as("cw.a")
    body = {"sought": {"given_name": "Mahamadou", "family_name": "Traoré", "sex": "m", "birth_year": 1988},
            "inquirer": {"given_name": "Kadiatou", "family_name": "Traoré", "contact": "76 00 00 01"},
            "relationship": "sibling", "last_seen_pcode": f.BAMAKO_COMMUNE_IV, "inquirer_consented": True}

    def as_(name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[name]}"}

    bad = cw.post("/api/v1/protection/tracing", json={**body, "relationship": "cousin"}, headers=as_("cw.a"))
    assert bad.status_code == 422 and bad.json()["problems"][0]["column"] == "relationship"
    made = cw.post("/api/v1/protection/tracing", json=body, headers=as_("cw.a"))
    assert made.status_code == 201, made.text
    out = made.json()
    assert [(m["given_name"], m["kind"]) for m in out["matches"]] == [("Mamadou", "person")]
    assert "phone" not in str(out["matches"])
    code = out["code"]
    again = cw.post(f"/api/v1/protection/tracing/{code}/search", json={"threshold": 0.3}, headers=as_("cw.a"))
    assert again.status_code == 200 and again.json()["new"] == 0
    decided = cw.post(f"/api/v1/protection/tracing/{code}/matches/{out['matches'][0]['id']}",
                      json={"decision": "reject"}, headers=as_("cw.a"))
    assert decided.status_code == 200 and decided.json()["matches"][0]["state"] == "rejected"
    listed = cw.get("/api/v1/protection/tracing", headers=as_("cw.a")).json()
    assert [r["code"] for r in listed["items"]] == [code]
    assert cw.get(f"/api/v1/protection/tracing/{code}", headers=as_("cw.b")).status_code == 404
    assert cw.get("/api/v1/protection/tracing", headers=as_("cw.b")).json()["total"] == 0
    assert cw.get("/api/v1/protection/tracing", headers=as_("im.a")).status_code == 403


JATIGI = str(Path(sys.executable).parent / "jatigi")


def _cli(*args: str, user: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1", "JATIGI_USER": user, **second_factor_env(user)}
    return subprocess.run([JATIGI, "--lang", "en", "protection", "tracing", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_cli(open_as: Open, engine: sa.Engine) -> None:
    made = _cli("new", "--given-name", "Mahamadou", "--family-name", "Traoré", "--sex", "m", "--birth-year", "1988",
                "--relationship", "sibling", "--last-seen-pcode", f.BAMAKO_COMMUNE_IV, "--inquirer-given-name",
                "Kadiatou", "--inquirer-consented", user="cw.a")
    assert made.returncode == 0, made.stderr
    code = re.search(r"(TR-[A-Z0-9]+)", made.stdout).group(1)  # type: ignore[union-attr]
    assert "1 possible matches to check." in made.stdout
    listed = _cli("list", user="cw.a")
    assert listed.returncode == 0 and code in listed.stdout
    shown = _cli("show", code, user="cw.a")
    assert "Mamadou Traore" in shown.stdout
    match_id = re.search(r"│ (\d+) +│ In the registry", shown.stdout).group(1)  # type: ignore[union-attr]
    assert _cli("match", code, user="cw.a").returncode == 0
    assert _cli("reject", code, match_id, user="cw.a").returncode == 0
    hidden = _cli("show", code, user="cw.b")
    assert hidden.returncode == 1 and f"No tracing request {code} that you may see." in hidden.stderr
    bad = _cli("confirm", code, "999999", user="cw.a")
    assert bad.returncode == 1 and "has no match" in bad.stderr


def test_no_birth_year_exact_names_and_day_month_year_dates(open_as: Open, engine: sa.Engine) -> None:
    cw, csrf = open_as("cw.a")
    made = cw.post("/protection/tracing/new", data=_form(csrf, sought_given_name="Mamadou", sought_birth_year="",
                                                         sought_sex="M", separated_on="01/02/2024"),
                   follow_redirects=False)
    assert made.status_code == 303, made.text[:2000]
    page = cw.get(made.headers["location"])
    assert "Mamadou Traore" in page.text and "Mahmoud" not in page.text
    assert "Proposed because the names agree exactly and the birth year is not known." in page.text
    with session_scope(engine) as s:
        assert s.scalar(sa.select(TracingRequest.separated_on)) == date(2024, 2, 1)
