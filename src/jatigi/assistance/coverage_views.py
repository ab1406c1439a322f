"""Coverage and gaps in the pages: per area and population group, who was assisted, for how many
months and how much, and which assessed needs no programme covered; then the programmes ending
soon and how many of their households are still vulnerable, with the list of their codes as CSV.

Thin: assistance.coverage counts set-wise over the households the reader may see. The period and
the other inputs are in the address (a GET form), so a table can be bookmarked and shared.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from jatigi.assistance import coverage as cov
from jatigi.assistance import pages as ap
from jatigi.assistance.policies import get_programme
from jatigi.assistance.programmes import add_months
from jatigi.core import audit
from jatigi.core.authz import Permission
from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _, money, number
from jatigi.registry import vocab as registry_vocab
from jatigi.registry.views import FormProblems
from jatigi.targeting import run_page as rp
from jatigi.web.deps import SessionDep
from jatigi.web.templating import render

router = ap.router  # one router for every assistance page (see views.py)


def _month(text: str, name: str, label: str, problems: FormProblems) -> str | None:
    try:
        cov.period(text)
    except ValidationFailed:
        problems.add(name, label, _("Write the month as YYYY-MM, such as 2013-10 (not {value}).", value=text or "—"))
        return None
    return text


def share(value: float | None) -> str:
    return "—" if value is None else f"{number(round(100 * value, 1))}\u00a0%"


def one_decimal(value: float | None) -> str:
    return "—" if value is None else number(round(value, 1))


@router.get("/assistance/coverage", response_class=HTMLResponse)
def coverage_page(request: Request, session: SessionDep, actor: ap.Reader, since: str = "", until: str = "",
                  level: str = "1", place: str = "", within: str = "2") -> HTMLResponse:
    actor.require(Permission.REGISTRY_HOUSEHOLD_READ)
    this_month = date.today().replace(day=1)
    values = {"since": since.strip() or add_months(this_month, -11).strftime("%Y-%m"),
              "until": until.strip() or this_month.strftime("%Y-%m"), "level": level.strip(),
              "place": place.strip().upper()[:20], "within": within.strip()}
    problems = FormProblems()
    _month(values["since"], "since", _("From the month"), problems)
    _month(values["until"], "until", _("To the month"), problems)
    if values["level"] not in ("1", "2"):
        problems.add("level", _("Areas"), _("Choose regions or cercles."))
    if problem := rp.place_problem(session, values["place"]):
        problems.add("place", _("Place"), problem)
    months, problem = rp.amount(values["within"], 0)
    if problem or months is None or months > 36:
        problems.add("within", _("Ending within (months)"), problem or _("Must be at most {limit}.", limit=36))
    table = ends = None
    if not problems.by_field.keys() & {"since", "until", "level", "place"}:
        try:
            table = cov.coverage(session=session, actor=actor, since=values["since"], until=values["until"],
                                 level=int(values["level"]), place=values["place"] or None)
        except ValidationFailed as exc:
            problems.add("until", _("To the month"), exc.message)
    if "within" not in problems.by_field and months is not None:
        ends = cov.continuity(session=session, actor=actor, within_months=months)
    return render(request, "assistance/coverage.html", status_code=422 if problems else 200, values=values,
                  table=table, ends=ends, needs=cov.NEED_LABELS, groups=registry_vocab.POPULATION_GROUPS,
                  errors=problems.by_field, problems=problems.summary, money=money, share=share,
                  one_decimal=one_decimal, csv_url=lambda code: "/assistance/coverage/still-vulnerable.csv?"
                  + urlencode({"programme": code}))


@router.get("/assistance/coverage/still-vulnerable.csv")
def still_vulnerable(session: SessionDep, actor: ap.Reader, programme: str = "") -> Response:
    """The codes of a programme's households still vulnerable in the latest run of its model: a list
    to enrol in the programme that follows (codes only)."""
    found = get_programme(session, actor, programme[:20] or "-")
    figures, codes = cov.still_vulnerable(session=session, actor=actor, programme=found)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["household_code"])
    writer.writerows([code] for code in codes)
    name = f"jatigi-{found.code}-still-vulnerable.csv"
    audit.record(session, actor, "assistance.still_vulnerable.export", "programme", found.id,
                 {"code": found.code, "run": figures.run_id, "rows": len(codes), "file": name})
    return Response(out.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
