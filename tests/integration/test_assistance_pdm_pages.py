"""Monitoring interviews imported from the cycle's page: the cash officer uploads a CSV or XLSX export
and sees how many were added and the indicators with the new figures; a file with a bad row writes
nothing and the page lists each problem by row, column and value; who may not import is refused."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from datetime import datetime

import openpyxl
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.assistance.models import PdmResponse
from jatigi.core.audit import AuditEvent
from jatigi.core.db import session_scope
from tests import factories as f
from tests.unit.assistance import feedback_data as fd
from tests.unit.assistance.test_pdm import HEADER, _six
from tests.web import browsers, count_rows

Open = Callable[..., tuple[TestClient, str]]


@pytest.fixture
def paid(engine: sa.Engine) -> fd.Paid:
    with session_scope(engine) as s:
        fd.people(s)
        f.user(s, "vera", "ONGA", "viewer")
        return fd.programme(s, households=6, states=("reconciled", "sent", "prepared"))


@pytest.fixture
def open_as(paid: fd.Paid) -> Iterator[Open]:
    with browsers("/assistance/programmes") as opener:
        yield opener


def _file(lines: list[str], name: str = "pdm-juin.csv") -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("file", (name, "\n".join([HEADER, *lines]).encode("utf-8") + b"\n", "text/csv"))]


def _error(html: str) -> str:
    found = re.search(r'id="f-pdm_file-error">(.*?)</p>', html, re.S)
    assert found, "no message beside the file"
    return found.group(1).strip()


def _rate(html: str, name: str) -> str:
    found = re.search(rf'data-indicator="{name}"><td>[^<]*(?:<strong[^>]*>[^<]*</strong>)?</td><td class="num">([^<]*)<',
                      html)
    assert found, f"no indicator {name}"
    return found.group(1)


def test_import_interviews_and_see_the_indicators(open_as: Open, paid: fd.Paid, engine: sa.Engine) -> None:
    carla, csrf = open_as("carla")
    url = f"/assistance/cycles/{paid.cycles[1]}"
    page = carla.get(url).text
    assert 'id="pdm-form"' in page and "No interview imported for this cycle yet." in page
    assert f'action="{url}/pdm" enctype="multipart/form-data"' in page

    done = carla.post(f"{url}/pdm", data={"csrf_token": csrf}, files=_file(_six(paid)), follow_redirects=False)
    assert done.status_code == 303, done.text[:2000]
    assert done.headers["location"].endswith("#pdm-import-title")
    page = carla.get(done.headers["location"]).text
    assert re.search(r'id="pdm-notice">6 interviews added, 0 already there \(6 rows read\).<', page)
    assert page.count("6 interviews added") == 1  # beside the indicators, not also at the top
    assert 'data-figure="interviews">6 interviews.' in page
    assert _rate(page, "received") == "83 % (5 of 6)" and _rate(page, "paid_to_get") == "17 % (1 of 6)"
    assert "Red flag: follow it up" in page and 'data-spending="food"' in page
    assert count_rows(engine, PdmResponse) == 6
    assert count_rows(engine, AuditEvent, AuditEvent.action == "assistance.pdm.import") == 1

    again = carla.post(f"{url}/pdm", data={"csrf_token": csrf}, files=_file(_six(paid)))
    assert again.status_code == 200  # followed to the cycle's page
    assert "0 interviews added, 6 already there (6 rows read)." in again.text
    assert count_rows(engine, PdmResponse) == 6

    # A Kobo workbook of the sent cycle 2, by household code, with one 0/1 column per spending choice.
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["today", "pdm/household_code", "pdm/received", "pdm/spent_on/food", "pdm/spent_on/rent", "_uuid"])
    sheet.append([datetime(2024, 7, 10), paid.households[0], "oui", 1, 0, "x1"])
    sheet.append([datetime(2024, 7, 11), paid.households[1], "oui", 1, 1, "x2"])
    path = f"/assistance/cycles/{paid.cycles[2]}"
    data = io.BytesIO()
    book.save(data)
    xlsx = carla.post(f"{path}/pdm", data={"csrf_token": csrf}, follow_redirects=False,
                      files=[("file", ("kobo.xlsx", data.getvalue(), "application/vnd.openxmlformats-officedocument."
                                                                     "spreadsheetml.sheet"))])
    assert xlsx.status_code == 303, xlsx.text[:2000]
    page = carla.get(xlsx.headers["location"]).text
    assert "2 interviews added, 0 already there (2 rows read)." in page and _rate(page, "received") == "2 of 2"


def test_a_file_with_a_bad_row_writes_nothing_and_each_problem_is_shown(open_as: Open, paid: fd.Paid,
                                                                         engine: sa.Engine) -> None:
    carla, csrf = open_as("carla")
    url = f"/assistance/cycles/{paid.cycles[1]}"
    other = paid.references[2][0]
    lines = [*_six(paid)[:2], f"{other},,2024-06-20,maybe,,,,,,,,,u9"]
    bad = carla.post(f"{url}/pdm", data={"csrf_token": csrf}, files=_file(lines))
    assert bad.status_code == 422
    assert _error(bad.text) == "Nothing was written: 2 problems in 3 rows."
    assert 'href="#f-pdm_file">Monitoring interviews</a>' in bad.text  # the summary at the top
    table = bad.text.split('id="pdm-problems"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr><td class="num">(\d+)</td><td>([^<]*)</td><td class="value">([^<]*)</td><td>([^<]*)</td>',
                      table)
    assert [(row, column, value) for row, column, value, _m in rows] == [
        ("4", "received", "maybe"), ("4", "payment_reference", other)]
    assert rows[1][3] == "This payment belongs to cycle 2, not to cycle 1 being imported."
    assert count_rows(engine, PdmResponse) == 0
    assert "No interview imported for this cycle yet." in bad.text

    wrong = carla.post(f"{url}/pdm", data={"csrf_token": csrf},
                       files=[("file", ("notes.csv", b"name,surveyed_on\nAwa,2024-06-20\n", "text/csv"))])
    assert wrong.status_code == 422
    assert "no column for the payment&#39;s reference or the household&#39;s code" in _error(wrong.text)
    missing = carla.post(f"{url}/pdm", data={"csrf_token": csrf})
    assert missing.status_code == 422 and _error(missing.text) == "Choose the file of interviews (CSV or XLSX)."
    assert count_rows(engine, PdmResponse) == 0


def test_who_may_import_and_where(open_as: Open, paid: fd.Paid, engine: sa.Engine) -> None:
    url = f"/assistance/cycles/{paid.cycles[1]}"
    # A cycle not yet sent: no form, and posting is refused beside the field.
    carla, csrf = open_as("carla")
    prepared = f"/assistance/cycles/{paid.cycles[3]}"
    assert 'id="pdm-form"' not in carla.get(prepared).text
    early = carla.post(f"{prepared}/pdm", data={"csrf_token": csrf}, files=_file(_six(paid)[:1]))
    assert early.status_code == 409 and "monitoring follows a distribution" in _error(early.text)
    no_csrf = carla.post(f"{url}/pdm", files=_file(_six(paid)))
    assert no_csrf.status_code == 403
    # The IM officer reads the indicators but may not import; the viewer sees no programme.
    ivan, ivan_csrf = open_as("ivan")
    page = ivan.get(url)
    assert page.status_code == 200 and 'id="pdm-form"' not in page.text and 'id="pdm-title"' in page.text
    refused = ivan.post(f"{url}/pdm", data={"csrf_token": ivan_csrf}, files=_file(_six(paid)))
    assert refused.status_code == 403 and "assistance:monitoring:write" in refused.text
    vera, vera_csrf = open_as("vera", "/")
    assert vera.post(f"{url}/pdm", data={"csrf_token": vera_csrf}, files=_file(_six(paid))).status_code == 403
    # Another organisation's cash officer does not find the cycle.
    bert, bert_csrf = open_as("bert")
    assert bert.get(url).status_code == 404
    assert bert.post(f"{url}/pdm", data={"csrf_token": bert_csrf}, files=_file(_six(paid))).status_code == 404
    assert count_rows(engine, PdmResponse) == 0
