"""GBVIMS statistics over HTTP (page, CSV, API): only incidents of cases whose survivor consented to
reporting count, every organisation pooled and none named, small counts hidden with their
complements; a caseworker and an information manager read them, a viewer is refused."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.core.audit import AuditEvent
from jatigi.core.authz import Actor
from jatigi.core.db import session_scope
from jatigi.protection.consent import record_consent, withdraw_consent
from jatigi.protection.models import GbvIncident, ProtectionCase
from jatigi.web.app import create_app
from tests import factories as f
from tests import protection_factories as pf
from tests.web import browsers

MONTH = date.today().replace(day=1)
MONTH_CODE = MONTH.strftime("%Y-%m")


def _incident(s: sa.orm.Session, by: Actor, sup: Actor, kind: str, consent: str | None, area: str,
              age: str = "18-59") -> ProtectionCase:
    c = pf.case(s, by, sup, area_pcode=area, age_group=age)
    s.add(GbvIncident(case_id=c.id, incident_type=kind, incident_month=MONTH, report_date=date.today(),
                      area_pcode=area, survivor_age_group=age, survivor_sex="f", created_by=by.user_id))
    if consent in ("yes", "withdrawn", "then_refused"):
        given = record_consent(session=s, actor=by, case=c, purpose="reporting", granted=True)
        if consent == "withdrawn":
            withdraw_consent(session=s, actor=by, case=c, consent_id=given.id)
        if consent == "then_refused":
            record_consent(session=s, actor=by, case=c, purpose="reporting", granted=False)
    elif consent == "no":
        record_consent(session=s, actor=by, case=c, purpose="reporting", granted=False)
    s.flush()
    return c


@pytest.fixture
def data(engine: sa.Engine) -> dict[str, str]:
    """Two organisations' cases: 5 consented rapes in Bamako of PA and 2 of PB (7), 2 consented sexual
    assaults in Mopti (hidden), and incidents that must not count: no consent, refused, withdrawn,
    granted then refused."""
    with session_scope(engine) as s:
        t = pf.team(s)
        f.user(s, "im", "PA", role="im_officer")
        f.user(s, "view", "PA", role="viewer")
        for _i in range(5):
            _incident(s, t.caseworker, t.supervisor, "rape", "yes", f.BAMAKO_COMMUNE_IV)
        for _i in range(2):
            _incident(s, t.outsider, t.outsider_supervisor, "rape", "yes", f.BAMAKO_COMMUNE_IV)
        for _i in range(2):
            _incident(s, t.caseworker, t.supervisor, "sexual_assault", "yes", f.MOPTI_COMMUNE, age="12-17")
        _incident(s, t.caseworker, t.supervisor, "physical_assault", None, f.BAMAKO_COMMUNE_IV)
        _incident(s, t.caseworker, t.supervisor, "physical_assault", "no", f.BAMAKO_COMMUNE_IV)
        _incident(s, t.outsider, t.outsider_supervisor, "forced_marriage", "withdrawn", f.MOPTI_COMMUNE)
        _incident(s, t.caseworker, t.supervisor, "psychological_abuse", "then_refused", f.MOPTI_COMMUNE)
        return {name: f.token(s, name) for name in ("cw.a", "im", "view")}


@pytest.fixture
def open_as(data: dict[str, str]) -> Iterator[object]:
    with browsers("/protection/statistics") as opener:
        yield opener


def _main(html: str) -> str:
    return html.split("<main", 1)[1].split("</main>", 1)[0]


def _row(html: str, table: str, row: str) -> list[str]:
    body = html.split(f'id="table-{table}"', 1)[1].split("</table>", 1)[0]
    line = body.split(f'data-row="{row}"', 1)[1].split("</tr>", 1)[0]
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", line)]


def _no_agency(text: str) -> None:
    assert not re.search(r"\bP[AB]\b", text) and "Organisation P" not in text


def test_a_caseworker_reads_pooled_consented_counts_with_small_ones_hidden(open_as, engine: sa.Engine) -> None:
    client, _csrf = open_as("cw.a")
    page = client.get("/protection/statistics")
    assert page.status_code == 200
    main = _main(page.text)
    assert "consented to reporting" in main and "all organisations pooled" in main
    assert 'id="table-type_month"' in main and 'id="table-type_area"' in main and 'id="table-age_sex"' in main
    # Rapes of both organisations pooled (7) this month; the two sexual assaults are hidden, and so is
    # the rape count, which with the grand total (9) would give them back.
    # The whole calendar year is shown, every month of it: this month and the year's total.
    def this_month_and_total(kind: str) -> list[str]:
        cells = _row(page.text, "type_month", kind)
        assert len(cells) == 13
        return [cells[MONTH.month - 1], cells[-1]]

    assert this_month_and_total("rape") == ["x", "x"]
    assert this_month_and_total("sexual_assault") == ["x", "x"]
    # Not counted: no consent, refused, withdrawn, granted then refused.
    for kind in ("physical_assault", "forced_marriage", "psychological_abuse", "denial_of_resources"):
        assert this_month_and_total(kind) == ["0", "0"]
    assert f"Year {MONTH.year}, all of Mali" in main and 'id="f-area"' not in main and 'id="f-start"' not in main
    assert _row(page.text, "type_month", "total")[-1] == "9"
    _no_agency(main)
    # By region: Bamako and Mopti.
    assert "Bamako (ML09)" in main and "Mopti (ML05)" in main
    with session_scope(engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "protection.statistics.read")) == 2  # log-in landing, then ours


def test_the_csv_holds_the_same_hidden_table_and_names_no_agency(open_as) -> None:
    client, _csrf = open_as("im")
    answer = client.get("/protection/statistics.csv", params={"year": str(MONTH.year), "hxl": "1"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0][:2] == ["table", "row"] and rows[1][0] == "#meta+table"
    cells = {(r[0], r[1], r[3]): r[5] for r in rows[2:]}
    # One month with incidents: the rape count equals its total, hidden with it (7 + 2 = 9 would give the 2 back).
    assert cells[("type_month", "rape", MONTH_CODE)] == "x"
    assert cells[("type_month", "sexual_assault", MONTH_CODE)] == "x"
    assert cells[("type_month", "sexual_assault", "total")] == "x"
    assert cells[("type_month", "physical_assault", "total")] == "0"
    assert cells[("type_month", "total", "total")] == "9"
    assert cells[("age_sex", "12-17", "f")] == "x"
    # The rape total is hidden here as in the table by month: one table cannot give back the other.
    assert cells[("type_area", "rape", "total")] == cells[("type_month", "rape", "total")] == "x"
    _no_agency(answer.text)


def test_the_api_gives_null_where_hidden_and_refuses_a_viewer(data: dict[str, str]) -> None:
    with TestClient(create_app(), headers={"Accept-Language": "en"}) as client:
        answer = client.get("/api/v1/protection/statistics", params={"by": "type,month", "year": str(MONTH.year)},
                            headers={"Authorization": f"Bearer {data['im']}"})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        [table] = body["tables"]
        assert table["name"] == "type_month" and body["filters"]["year"] == MONTH.year
        assert "area" not in body["filters"] and len(table["columns"]) == 12
        assert table["total"] == 9  # all of Mali, the whole year
        rape = [r["code"] for r in table["rows"]].index("rape")
        assert table["row_totals"][rape] is None
        _no_agency(answer.text)
        assert "organisation" not in {k.lower() for k in body["filters"]}

        bad = client.get("/api/v1/protection/statistics", params={"year": "2026-13", "level": "commune"},
                         headers={"Authorization": f"Bearer {data['cw.a']}"})
        assert bad.status_code == 422
        assert {p["column"] for p in bad.json()["problems"]} == {"year", "level"}
        refused = client.get("/api/v1/protection/statistics", headers={"Authorization": f"Bearer {data['view']}"})
        assert refused.status_code == 403


def test_a_viewer_is_refused_the_page_and_the_csv(open_as) -> None:
    client, _csrf = open_as("view", "/")
    assert client.get("/protection/statistics").status_code == 403
    assert client.get("/protection/statistics.csv").status_code == 403


def test_bad_filters_are_shown_beside_the_field(open_as) -> None:
    client, _csrf = open_as("im")
    page = client.get("/protection/statistics", params={"year": "janvier", "level": "commune"})
    assert page.status_code == 422
    assert 'id="f-year-error">Not a year; accepted: four digits' in page.text
    assert 'id="f-level-error">Unknown choice' in page.text
    assert 'id="table-type_month"' not in page.text
