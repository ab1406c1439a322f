"""The model pages as a signed-in user meets them: the hub, the list, a model, its editor."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.core.db import session_scope
from jatigi.targeting.tables import ModelVersion
from tests import factories as f
from tests.web import browsers, count_rows

Open = Callable[..., tuple[TestClient, str]]


@pytest.fixture
def open_as(engine: sa.Engine) -> Iterator[Open]:
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "ONGA")
        f.user(s, "iris", "ONGA", "im_officer")
        f.user(s, "rose", "ONGA", "registration_officer")
    with browsers("/targeting") as opener:
        yield opener


def test_the_hub_and_list_show_the_shipped_models(open_as: Open) -> None:
    client, _csrf = open_as("rose")
    hub = client.get("/targeting")
    assert hub.status_code == 200
    assert "not by whether they were displaced" in hub.text and 'href="/targeting/models"' in hub.text
    assert 'href="/targeting" aria-current="page"' in hub.text
    listing = client.get("/targeting/models").text
    assert "Protection vulnerability" in listing and "Food security (Cadre Harmonisé)" in listing
    assert "New model" not in listing  # a registration officer may read, not write
    page = client.get("/targeting/models/protection").text
    assert "Status-neutral: this model does not use displacement status." in page
    assert "Overcrowding (3 or more people per room)" in page and "<code>crowding &gt;= 3</code>" in page
    assert "shipped with Jatigi" in page and "/edit" not in page
    assert client.get("/targeting/models/protection/edit").status_code == 403


def test_edit_with_a_mistake_then_save_a_new_version(open_as: Open, engine: sa.Engine) -> None:
    client, csrf = open_as("iris")
    editor = client.get("/targeting/models/protection/edit")
    assert editor.status_code == 200
    text = re.search(r'<textarea id="f-text"[^>]*>(.*?)</textarea>', editor.text, re.S)
    assert text is not None
    original = text.group(1).replace("&#34;", '"').replace("&#39;", "'").replace("&gt;", ">").replace("&amp;", "&")
    assert "version = 2" in original
    wrong = original.replace('when = "crowding >= 3"', 'when = "crowdin >= 3"')

    refused = client.post("/targeting/models/protection/edit",
                          data={"csrf_token": csrf, "text": wrong, "note": "typo", "action": "save"})
    assert refused.status_code == 422
    assert "1 problems: nothing was saved." in refused.text and "Line 76" in refused.text
    assert "crowdin &gt;= 3" in refused.text  # the text as typed
    assert count_rows(engine, ModelVersion, ModelVersion.version == 2) == 0

    checked = client.post("/targeting/models/protection/edit",
                          data={"csrf_token": csrf, "text": original, "action": "check"})
    assert checked.status_code == 200 and "No problem: this text can be saved." in checked.text

    saved = client.post("/targeting/models/protection/edit", follow_redirects=False,
                        data={"csrf_token": csrf, "text": original, "note": "Reviewed", "action": "save"})
    assert saved.status_code == 303 and saved.headers["location"] == "/targeting/models/protection?saved=2"
    page = client.get(saved.headers["location"]).text
    assert "Saved: version 2." in page and "Reviewed" in page and "See version 1" in page
    older = client.get("/targeting/models/protection?version=1").text
    assert "You are viewing version 1, an older one." in older

    again = client.post("/targeting/models/protection/edit",
                        data={"csrf_token": csrf, "text": original, "action": "save"})
    assert again.status_code == 422 and "set version = 3" in again.text


def test_a_new_model_from_a_copy(open_as: Open, engine: sa.Engine) -> None:
    client, csrf = open_as("iris")
    page = client.get("/targeting/models/new?source=economic")
    assert page.status_code == 200 and 'id = &#34;economic_copy&#34;' in page.text
    text = re.search(r'<textarea id="f-text"[^>]*>(.*?)</textarea>', page.text, re.S)
    assert text is not None
    copy = text.group(1).replace("&#34;", '"').replace("&#39;", "'").replace("&gt;", ">").replace("&lt;", "<")
    copy = copy.replace("&amp;", "&").replace('uses_displacement_status = false', 'uses_displacement_status = true')
    copy = copy.replace('when = "dependency_ratio > 1.5"', 'when = "population_group == \'idp\'"')
    saved = client.post("/targeting/models/new", follow_redirects=False,
                        data={"csrf_token": csrf, "text": copy, "action": "save"})
    assert saved.status_code == 303, saved.text[-2000:]
    shown = client.get(saved.headers["location"]).text
    assert "This model uses displacement status" in shown and "population_group" in shown
    listing = client.get("/targeting/models").text
    assert "economic_copy" in listing
    assert count_rows(engine, ModelVersion, ModelVersion.name == "economic_copy") == 1
