"""The payment file from the cycle's page when households were removed after approval: the export
is not blocked, the page says how many due payments were cancelled and why, and exporting the
sent cycle again gives the file; a provider other than the one it was sent to is refused beside
the field."""

from __future__ import annotations

import csv
import io
import re

import sqlalchemy as sa

from jatigi.core.db import session_scope
from jatigi.registry import service as registry
from tests.unit.assistance import payment_data as d
from tests.web import browsers


def test_the_page_says_which_due_payments_the_export_cancelled(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        d.people(s)
        codes = d.households(s)
        data = d.cycle(s, d.programme(s), codes)
        registry.delete_household(session=s, actor=d.f.actor(s, d.ADMIN), code=codes[0], reason="Doublon")
    with browsers("/assistance/programmes") as open_as:
        carla, csrf = open_as(d.CASH)
        url = f"/assistance/cycles/{data.cycle_id}"
        resp = carla.post(f"{url}/export", data={"csrf_token": csrf, "provider": "orange_money"},
                          follow_redirects=False)
        assert resp.status_code == 303 and resp.headers["location"].startswith(url)
        page = carla.get(resp.headers["location"]).text
        assert ("The cycle is sent: its payment file holds 2 payments. Export it again to download it. 1 due payments "
                "were cancelled and left out of the file: the household was removed from the registry after the cycle "
                "was approved.") in page
        assert re.search(r"removed from the registry after the cycle was approved</td>", page)  # in the history

        again = carla.post(f"{url}/export", data={"csrf_token": csrf, "provider": "orange_money"})
        assert again.status_code == 200 and "attachment" in again.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(again.text)))
        assert [r["Reference"] for r in rows] == data.references[1:3]

        other = carla.post(f"{url}/export", data={"csrf_token": csrf, "provider": "cash_distribution"})
        assert other.status_code == 409
        assert "was sent to Orange Money (orange_money): it is exported again and reconciled with that provider" \
            in other.text
