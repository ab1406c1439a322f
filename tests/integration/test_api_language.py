"""A request the API cannot even read (a wrong type, a missing value) is answered like any other
refused request: problems {sheet, row, column, value, message}, in the language of the request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.core.db import session_scope
from jatigi.web.app import create_app
from tests import factories as f


@pytest.fixture
def tokens(engine: sa.Engine) -> dict[str, str]:
    """Two users of ONGA: awa reads French, alice English."""
    with session_scope(engine) as s:
        f.org(s, "ONGA")
        f.user(s, "awa", "ONGA", language="fr")
        f.user(s, "alice", "ONGA", language="en")
        return {"awa": f.token(s, "awa"), "alice": f.token(s, "alice")}


@pytest.fixture
def client(engine: sa.Engine) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def _headers(token: str, lang: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept-Language": lang}


def _problems(resp: Any) -> dict[str, tuple[str, str]]:
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["problem_count"] == len(body["problems"])
    assert {(p["sheet"], p["row"]) for p in body["problems"]} == {("request", 1)}
    return {p["column"]: (p["value"], p["message"]) for p in body["problems"]}


# Wrong types: a text for a list, a text for an object, an object for a single value, a number among
# the texts of a list; and a field the form does not have.
WRONG_TYPES = {"members": "Aminata Traoré", "consents": "yes", "monthly_rent_xof": {"amount": 25000},
               "priority_needs": [1, "food"], "colour": "red"}


def test_wrong_types_in_a_posted_household_are_told_in_french(client: TestClient, tokens: dict[str, str]) -> None:
    resp = client.post("/api/v1/households", headers=_headers(tokens["awa"], "fr"), json=WRONG_TYPES)
    assert resp.json()["detail"] == "La requête n'a pas été acceptée : 5 problèmes."
    assert _problems(resp) == {
        "members": ("Aminata Traoré", "Valeur non valide ; type attendu : liste."),
        "consents": ("yes", "Valeur non valide ; type attendu : objet."),
        "monthly_rent_xof": ('{"amount":25000}', "Valeur non valide ; type attendu : texte, nombre entier, "
                                                  "nombre ou booléen (true ou false)."),
        "priority_needs.0": ("1", "Valeur non valide ; type attendu : texte."),
        "colour": ("red", "Champ inconnu."),
    }


def test_wrong_types_in_a_posted_household_are_told_in_english(client: TestClient, tokens: dict[str, str]) -> None:
    resp = client.post("/api/v1/households", headers=_headers(tokens["alice"], "en"), json=WRONG_TYPES)
    assert resp.json()["detail"] == "The request was not accepted: 5 problems."
    assert _problems(resp) == {
        "members": ("Aminata Traoré", "Not a valid list."),
        "consents": ("yes", "Not a valid object."),
        "monthly_rent_xof": ('{"amount":25000}', "Not a valid string, integer, number or boolean."),
        "priority_needs.0": ("1", "Not a valid string."),
        "colour": ("red", "Unknown field."),
    }


@pytest.mark.parametrize(("user", "lang", "required", "at_most"), [
    ("awa", "fr", "Cette valeur est obligatoire.", "Doit être inférieur ou égal à 500."),
    ("alice", "en", "This value is required.", "Must be at most 500."),
])
def test_a_missing_value_or_one_out_of_range_is_told_in_the_request_language(
        client: TestClient, tokens: dict[str, str], user: str, lang: str, required: str, at_most: str) -> None:
    headers = _headers(tokens[user], lang)
    # A household posted without a body: nothing to register.
    assert _problems(client.post("/api/v1/households", headers=headers)) == {"": ("", required)}
    # A deletion without its reason (a query parameter).
    assert _problems(client.delete("/api/v1/households/HH-X", headers=headers)) == {"reason": ("", required)}
    assert _problems(client.get("/api/v1/households?limit=100000", headers=headers)) == \
        {"limit": ("100000", at_most)}


def test_without_a_user_the_accept_language_header_decides(client: TestClient, tokens: dict[str, str]) -> None:
    # A user name of the wrong type and no password, on the one route that needs no token.
    body = {"username": 42}
    fr = client.post("/api/v1/tokens", json=body, headers={"Accept-Language": "fr-ML,fr;q=0.9"})
    assert _problems(fr) == {"username": ("42", "Valeur non valide ; type attendu : texte."),
                             "password": ("", "Cette valeur est obligatoire.")}
    en = client.post("/api/v1/tokens", json=body, headers={"Accept-Language": "en"})
    assert _problems(en) == {"username": ("42", "Not a valid string."),
                             "password": ("", "This value is required.")}
    # French by default.
    assert _problems(client.post("/api/v1/tokens", json=body))["password"][1] == "Cette valeur est obligatoire."
    # A password is never sent back, even a wrong one.
    secret = client.post("/api/v1/tokens", json={"username": "awa", "password": ["Bamako2024!"]},
                         headers={"Accept-Language": "en"})
    assert _problems(secret) == {"password": ("", "Not a valid string.")}
    # A body that is not JSON is refused before the token is read: the header decides there too.
    awa_in_english = {**_headers(tokens["awa"], "en"), "Content-Type": "application/json"}
    assert _problems(client.post("/api/v1/households", headers=awa_in_english, content=b'{"members": ')) == \
        {"": ("", "The request body is not valid JSON (at character 12).")}


def test_a_signed_in_users_own_language_wins_over_the_header(client: TestClient, tokens: dict[str, str]) -> None:
    # As for every other message of the API: the user's language, once the token is read.
    resp = client.post("/api/v1/households", headers=_headers(tokens["alice"], "fr"), json={"members": "x"})
    assert _problems(resp) == {"members": ("x", "Not a valid list.")}
    resp = client.post("/api/v1/households", headers=_headers(tokens["awa"], "en"), json={"members": "x"})
    assert _problems(resp) == {"members": ("x", "Valeur non valide ; type attendu : liste.")}
