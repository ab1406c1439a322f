"""Complaints and feedback: recorded, assigned, resolved, closed or reopened, each move kept with
who and when (assistance.states).

What the person said, their name and how to reach them, and the resolution are sealed
(core.crypto); they are opened only on a complaint's own page or API answer, and that read is
audited. A complaint of vocab.SENSITIVE_CATEGORIES, or marked sensitive by whoever records it,
goes confidentially to the protection focal points (ASSISTANCE_COMPLAINT_SENSITIVE): for anybody
else it does not exist — not in the queue, its counts, the search, the CSV or the API; its code
answers "not found". An organisation sees its own complaints; an actor who sees all, every one.

A complaint's code is random (CMP- and 8 letters and digits that cannot be mistaken for one another),
so that codes tell nobody how many complaints exist, nor that some are hidden from them. The codes
given before (CMP-000012) stay valid.
"""

from __future__ import annotations

import csv
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TextIO

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from jatigi.accounts.models import RolePermission, User, UserRole
from jatigi.assistance import states, vocab
from jatigi.assistance.models import Complaint, Payment, Programme, Transition
from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.crypto import keyring
from jatigi.core.db import utcnow
from jatigi.core.errors import Conflict, FieldsInvalid, NotFound
from jatigi.core.i18n import N_, _
from jatigi.core.spreadsheet import safe_cell
from jatigi.registry.models import Household
from jatigi.registry.service import visibility
from jatigi.registry.validate import parse_date

P = Permission
MAX_DESCRIPTION = 4000
MAX_NAME = 120
MAX_CONTACT = 200
MAX_RESOLUTION = 4000
MAX_SEARCH = 40
EARLIEST = date(2000, 1, 1)
PAGE_SIZE = 50
ACTIVE_STATES = ("open", "in_progress")  # waiting for an answer: these can be overdue
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L
CODE_LENGTH = 8
CODE_ATTEMPTS = 20

LABELS = {
    "channel": N_("Channel"),
    "category": N_("Category"),
    "priority": N_("Priority"),
    "received_on": N_("Received on"),
    "respond_by": N_("Respond by"),
    "programme": N_("Programme"),
    "household": N_("Household code"),
    "payment": N_("Payment reference"),
    "description": N_("What the person said"),
    "name": N_("Complainant's name"),
    "contact": N_("How to reach them"),
    "sensitive": N_("Sensitive"),
    "resolution": N_("Resolution"),
    "assignee": N_("Assign to"),
    "state": N_("State"),
    "q": N_("Search"),
}
CSV_COLUMNS = ["code", "received_on", "channel", "category", "priority", "sensitive", "state", "respond_by",
               "overdue", "resolved_on", "programme", "household_code", "payment_reference", "admin1", "assigned_to"]


class ComplaintInvalid(FieldsInvalid):
    """Input with problems, each with its field: nothing was written."""

    labels = LABELS


label = ComplaintInvalid.label




def _choices(codes: dict[str, str]) -> str:
    return ", ".join(codes)


def choice_problem(value: str, codes: dict[str, str]) -> str | None:
    if value in codes:
        return None
    return _("Unknown choice; accepted: {accepted}.", accepted=_choices(codes))


def _day(value: str | date | None, today: date) -> tuple[date | None, str | None]:
    """A date given as a date, YYYY-MM-DD or DD/MM/YYYY; None with no problem when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    found = value if isinstance(value, date) else parse_date(value)
    if found is None:
        return None, _("Not a date; accepted: YYYY-MM-DD or DD/MM/YYYY.")
    if found > today:
        return None, _("A date in the future is not accepted.")
    if found < EARLIEST:
        return None, _("A date before {date} is not accepted.", date=EARLIEST.isoformat())
    return found, None


def _too_long(text: str, limit: int) -> str | None:
    return _("At most {n} characters.", n=limit) if len(text) > limit else None


# ---- who sees what -------------------------------------------------------------------------------


def scope(actor: Actor) -> list[sa.ColumnElement[bool]]:
    """The complaints an actor may see: their organisation's (all, for who sees all), and the
    sensitive ones only for protection focal points."""
    conds: list[sa.ColumnElement[bool]] = []
    if not actor.sees_all:
        conds.append(Complaint.org_id == (actor.org_id if actor.org_id is not None else -1))
    if not actor.can(P.ASSISTANCE_COMPLAINT_SENSITIVE):
        conds.append(Complaint.sensitive.is_(False))
    return conds


def may_see(actor: Actor, complaint: Complaint) -> bool:
    return actor.acts_for(complaint.org_id) and (not complaint.sensitive
                                                 or actor.can(P.ASSISTANCE_COMPLAINT_SENSITIVE))


def is_sensitive(category: str, marked: bool) -> bool:
    return marked or category in vocab.SENSITIVE_CATEGORIES


def is_overdue(complaint: Complaint, today: date | None = None) -> bool:
    return complaint.state in ACTIVE_STATES and complaint.respond_by < (today or date.today())


# ---- recording -----------------------------------------------------------------------------------


@dataclass
class NewComplaint:
    """A complaint as typed in a form, a command or an API call: texts or dates."""

    channel: str = ""
    category: str = ""
    priority: str = "medium"
    received_on: str | date = ""
    respond_by: str | date | None = None
    description: str = ""
    name: str = ""
    contact: str = ""
    programme: str = ""
    household: str = ""
    payment: str = ""
    sensitive: bool = False


@dataclass
class _Links:
    org_id: int | None = None
    programme_id: int | None = None
    household_id: int | None = None
    payment_id: int | None = None
    admin1: str | None = None


def _programme(session: Session, actor: Actor, code: str) -> Programme | None:
    found = session.scalar(sa.select(Programme).where(Programme.code == code.strip().upper()))
    return found if found is not None and actor.acts_for(found.org_id) else None


def _links(session: Session, actor: Actor, new: NewComplaint, problems: list[tuple[str, str]]) -> _Links:
    """The programme, payment and household the complaint is about, each checked."""
    links = _Links(org_id=actor.org_id)
    programme = None
    if new.programme.strip():
        programme = _programme(session, actor, new.programme)
        if programme is None:
            problems.append(("programme", _("No programme {code} that you may see.", code=new.programme.strip())))
        else:
            links.programme_id, links.org_id = programme.id, programme.org_id
    if new.payment.strip():
        reference = new.payment.strip()
        row = session.execute(sa.select(Payment, Programme).join(Programme, Programme.id == Payment.programme_id)
                              .where(Payment.reference == reference)).first()
        if row is None or not actor.acts_for(row[1].org_id):
            problems.append(("payment", _("No payment {reference} that you may see.", reference=reference)))
        elif programme is not None and row[1].id != programme.id:
            problems.append(("payment", _("This payment belongs to the programme {code}, not to {other}.",
                                          code=row[1].code, other=programme.code)))
        else:
            links.payment_id, links.household_id = row[0].id, row[0].household_id
            links.programme_id, links.org_id = row[1].id, row[1].org_id
    if new.household.strip():
        code = new.household.strip().upper()
        hh = session.execute(sa.select(Household.id, Household.current_admin1)
                             .where(Household.code == code, *visibility(actor))).first()
        if hh is None:
            problems.append(("household", _("No household {code} that you may see.", code=code)))
        elif links.household_id is not None and links.household_id != hh.id:
            problems.append(("household", _("The payment {reference} is not this household's.",
                                            reference=new.payment.strip())))
        else:
            links.household_id = hh.id
    if links.household_id is not None:
        links.admin1 = session.scalar(sa.select(Household.current_admin1).where(Household.id == links.household_id))
    return links


def check(session: Session, actor: Actor, new: NewComplaint,
          today: date | None = None) -> tuple[dict[str, Any], _Links, list[tuple[str, str]]]:
    """The complaint's values checked: (clean values, links, problems by field)."""
    today = today or date.today()
    problems: list[tuple[str, str]] = []
    clean: dict[str, Any] = {}
    for name, codes in (("channel", vocab.CHANNELS), ("category", vocab.COMPLAINT_CATEGORIES),
                        ("priority", vocab.PRIORITIES)):
        value = str(getattr(new, name) or "").strip()
        if not value:
            problems.append((name, _("This value is required.")))
            continue
        problem = choice_problem(value, codes)
        if problem:
            problems.append((name, problem))
        clean[name] = value
    received, problem = _day(new.received_on, today)
    if problem or received is None:
        problems.append(("received_on", problem or _("This value is required.")))
    respond_by, problem = (None, None)
    if new.respond_by not in (None, ""):
        given = new.respond_by
        respond_by = given if isinstance(given, date) else parse_date(str(given))
        if respond_by is None:
            problem = _("Not a date; accepted: YYYY-MM-DD or DD/MM/YYYY.")
        elif received is not None and respond_by < received:
            problem = _("The answer cannot be due before the complaint was received.")
        if problem:
            problems.append(("respond_by", problem))
    if received is not None and respond_by is None and clean.get("priority") in vocab.RESPONSE_DAYS:
        respond_by = received + timedelta(days=vocab.RESPONSE_DAYS[clean["priority"]])
    clean["received_on"], clean["respond_by"] = received, respond_by
    description = (new.description or "").strip()
    if not description:
        problems.append(("description", _("This value is required.")))
    for name, text, limit in (("description", description, MAX_DESCRIPTION),
                              ("name", (new.name or "").strip(), MAX_NAME),
                              ("contact", (new.contact or "").strip(), MAX_CONTACT)):
        long = _too_long(text, limit)
        if long:
            problems.append((name, long))
        clean[name] = text
    links = _links(session, actor, new, problems)
    if links.org_id is None and not problems:
        problems.append(("programme", _("Name the programme: a complaint belongs to an organisation, and you act "
                                        "for none.")))
    clean["sensitive"] = is_sensitive(clean.get("category", ""), bool(new.sensitive))
    return clean, links, problems


def record(session: Session, actor: Actor, new: NewComplaint, today: date | None = None) -> Complaint:
    """Record a complaint (ComplaintInvalid, with every problem, when the input is wrong).

    The caller shows it only if `may_see(actor, complaint)`: whoever records a sensitive complaint
    without being a focal point gets its code and a confirmation, nothing more."""
    actor.require(P.ASSISTANCE_COMPLAINT_WRITE)
    clean, links, problems = check(session, actor, new, today)
    if problems:
        raise ComplaintInvalid(problems)
    ring = keyring()
    who = {k: v for k, v in (("name", clean["name"]), ("contact", clean["contact"])) if v}
    now = utcnow()
    complaint = Complaint(
        code=free_code(session), org_id=links.org_id, programme_id=links.programme_id,
        household_id=links.household_id, payment_id=links.payment_id, channel=clean["channel"],
        category=clean["category"], priority=clean["priority"], sensitive=clean["sensitive"], state="open",
        received_on=clean["received_on"], respond_by=clean["respond_by"], admin1=links.admin1,
        description_sealed=ring.seal(clean["description"]),
        complainant_sealed=ring.seal(json.dumps(who, ensure_ascii=False)) if who else None,
        version=1, created_at=now, created_by=actor.user_id, updated_at=now)
    session.add(complaint)
    session.flush()
    states.record_transition(session, actor, "complaint", complaint.id, None, "open",
                             detail={"code": complaint.code})
    session.flush()
    return complaint


def new_code() -> str:
    """A random complaint code: CMP- and CODE_LENGTH characters of CODE_ALPHABET."""
    return "CMP-" + "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))


def free_code(session: Session) -> str:
    """A random code no complaint has (drawn again on the rare collision)."""
    for _attempt in range(CODE_ATTEMPTS):
        code = new_code()
        if session.scalar(sa.select(Complaint.id).where(Complaint.code == code)) is None:
            return code
    raise Conflict(_("No free complaint code was found; try again."))


def programmes(session: Session, actor: Actor) -> list[tuple[str, str]]:
    """(code, name) of the programmes a complaint may be about: the actor's organisation's."""
    query = sa.select(Programme.code, Programme.name).order_by(Programme.code)
    if not actor.sees_all:
        query = query.where(Programme.org_id == (actor.org_id if actor.org_id is not None else -1))
    return [(r.code, r.name) for r in session.execute(query)]


# ---- finding -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    state: str = ""
    category: str = ""
    channel: str = ""
    programme: str = ""
    overdue: bool = False
    q: str = ""

    def problems(self) -> list[tuple[str, str]]:
        found = []
        for name, codes in (("state", vocab.COMPLAINT_STATES), ("category", vocab.COMPLAINT_CATEGORIES),
                            ("channel", vocab.CHANNELS)):
            value = getattr(self, name)
            problem = choice_problem(value, codes) if value else None
            if problem:
                found.append((name, problem))
        if len(self.q) > MAX_SEARCH:
            found.append(("q", _("At most {n} characters.", n=MAX_SEARCH)))
        return found

    def query(self) -> dict[str, str]:
        """The filters as they go in an address."""
        return {k: v for k, v in (("state", self.state), ("category", self.category), ("channel", self.channel),
                                  ("programme", self.programme), ("overdue", "1" if self.overdue else ""),
                                  ("q", self.q)) if v}


@dataclass(frozen=True)
class Row:
    complaint: Complaint
    programme: str | None
    household: str | None
    payment: str | None
    assignee: str | None
    overdue: bool


Listing = sa.Select[Complaint, str | None, str | None, str | None, str | None]


def _listing(actor: Actor) -> Listing:
    assignee = aliased(User)
    query: Listing = (sa.select(Complaint, Programme.code, Household.code, Payment.reference, assignee.username)
            .outerjoin(Programme, Programme.id == Complaint.programme_id)
            .outerjoin(Household, Household.id == Complaint.household_id)
            .outerjoin(Payment, Payment.id == Complaint.payment_id)
            .outerjoin(assignee, assignee.id == Complaint.assigned_to)
            .where(*scope(actor)))
    return query


def _filtered(query: Listing, filters: Filters, today: date) -> Listing:
    if filters.state:
        query = query.where(Complaint.state == filters.state)
    if filters.category:
        query = query.where(Complaint.category == filters.category)
    if filters.channel:
        query = query.where(Complaint.channel == filters.channel)
    if filters.programme.strip():
        query = query.where(Programme.code == filters.programme.strip().upper())
    if filters.overdue:
        query = query.where(Complaint.state.in_(ACTIVE_STATES), Complaint.respond_by < today)
    q = filters.q.strip()
    if q:
        upper = q.upper()
        query = query.where(sa.or_(Complaint.code == upper, Household.code == upper, Payment.reference == q))
    return query


def queue(session: Session, actor: Actor, filters: Filters = Filters(), *, limit: int | None = PAGE_SIZE,
          offset: int = 0, today: date | None = None) -> tuple[int, list[Row]]:
    """The complaints the actor may see that match the filters: (how many, this page of them), the
    active ones first, the most urgent first."""
    actor.require(P.ASSISTANCE_COMPLAINT_WRITE)
    problems = filters.problems()
    if problems:
        raise ComplaintInvalid(problems)
    today = today or date.today()
    query = _filtered(_listing(actor), filters, today)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    active = sa.case((Complaint.state.in_(ACTIVE_STATES), 0), else_=1)
    query = query.order_by(active, Complaint.respond_by, Complaint.id.desc()).offset(max(0, offset))
    if limit is not None:
        query = query.limit(limit)
    rows = [Row(c, prog, hh, pay, who, is_overdue(c, today)) for c, prog, hh, pay, who in session.execute(query)]
    # The list ties household codes and payments to categories (abuse, exploitation): its reading is audited.
    audit.record(session, actor, "assistance.complaint.list", "complaint", None,
                 {"filters": {k: v for k, v in filters.query().items() if v}, "offset": max(0, offset),
                  "shown": len(rows), "sensitive_shown": sum(1 for r in rows if r.complaint.sensitive)})
    return total, rows


@dataclass(frozen=True)
class Counts:
    total: int
    by_state: dict[str, int]
    by_category: dict[str, int]
    overdue: int


def counts(session: Session, actor: Actor, today: date | None = None) -> Counts:
    """How many complaints the actor may see, by state and by category, and how many are overdue."""
    actor.require(P.ASSISTANCE_COMPLAINT_WRITE)
    today = today or date.today()
    visible = scope(actor)
    by_state = {str(s): int(n) for s, n in session.execute(
        sa.select(Complaint.state, sa.func.count()).where(*visible).group_by(Complaint.state))}
    by_category = {str(c): int(n) for c, n in session.execute(
        sa.select(Complaint.category, sa.func.count()).where(*visible).group_by(Complaint.category))}
    overdue = session.scalar(sa.select(sa.func.count()).select_from(Complaint).where(
        *visible, Complaint.state.in_(ACTIVE_STATES), Complaint.respond_by < today)) or 0
    return Counts(sum(by_state.values()), by_state, by_category, overdue)


def get(session: Session, actor: Actor, code: str) -> Complaint:
    """The complaint with this code if the actor may see it; NotFound otherwise, the same for a
    sensitive complaint as for one that does not exist."""
    actor.require(P.ASSISTANCE_COMPLAINT_WRITE)
    text = (code or "").strip().upper()[:16]
    found = session.scalar(sa.select(Complaint).where(Complaint.code == text, *scope(actor)))
    if found is None:
        raise NotFound(_("No complaint {code} that you may see.", code=text))
    return found


@dataclass
class Details:
    complaint: Complaint
    description: str
    name: str | None
    contact: str | None
    resolution: str | None
    programme: str | None
    household: str | None
    payment: str | None
    assignee: str | None
    recorded_by: str | None
    history: list[Transition] = field(default_factory=list)
    overdue: bool = False


def details(session: Session, actor: Actor, code: str, today: date | None = None) -> Details:
    """A complaint with its sealed fields opened and its history; the read is audited."""
    complaint = get(session, actor, code)
    ring = keyring()
    who = json.loads(ring.open(complaint.complainant_sealed) or "{}")
    names = {r.id: r.username for r in session.execute(sa.select(User.id, User.username).where(
        User.id.in_([i for i in (complaint.assigned_to, complaint.created_by) if i is not None])))}
    _c, programme, household, payment, _who = session.execute(
        _listing(actor).where(Complaint.id == complaint.id)).one()
    audit.record(session, actor, "assistance.complaint.read", "complaint", complaint.id, {"code": complaint.code})
    return Details(
        complaint=complaint, description=ring.open(complaint.description_sealed) or "", name=who.get("name"),
        contact=who.get("contact"), resolution=ring.open(complaint.resolution_sealed), programme=programme,
        household=household, payment=payment, assignee=names.get(complaint.assigned_to or -1),
        recorded_by=names.get(complaint.created_by or -1), history=history(session, complaint),
        overdue=is_overdue(complaint, today))


def history(session: Session, complaint: Complaint) -> list[Transition]:
    return list(session.scalars(sa.select(Transition).where(Transition.entity == "complaint",
                                                            Transition.entity_id == complaint.id)
                                .order_by(Transition.id)))


# ---- handling ------------------------------------------------------------------------------------


def _for_change(session: Session, actor: Actor, code: str, version: int | None) -> Complaint:
    complaint = get(session, actor, code)
    if version is not None and version != complaint.version:
        raise Conflict(_("Someone else changed this complaint meanwhile; reload it and try again."))
    return complaint


def _changed(complaint: Complaint) -> None:
    complaint.version += 1
    complaint.updated_at = utcnow()


def assignees(session: Session, complaint: Complaint) -> list[tuple[str, str]]:
    """(user name, full name) of the active users of the complaint's organisation who may handle it."""
    needed = [str(P.ASSISTANCE_COMPLAINT_WRITE)]
    if complaint.sensitive:
        needed.append(str(P.ASSISTANCE_COMPLAINT_SENSITIVE))
    holders = (sa.select(UserRole.user_id).join(RolePermission, RolePermission.role_id == UserRole.role_id)
               .where(RolePermission.permission.in_(needed)).group_by(UserRole.user_id)
               .having(sa.func.count(sa.distinct(RolePermission.permission)) == len(needed)))
    rows = session.execute(sa.select(User.username, User.full_name).where(
        User.org_id == complaint.org_id, User.is_active.is_(True), User.id.in_(holders)).order_by(User.full_name))
    return [(r.username, r.full_name) for r in rows]


def assign(session: Session, actor: Actor, code: str, username: str, *, version: int | None = None) -> Complaint:
    """Give the complaint to someone who may handle it; an open complaint is then in progress."""
    complaint = _for_change(session, actor, code, version)
    if complaint.state not in ACTIVE_STATES:
        raise Conflict(_("A resolved or closed complaint cannot be assigned; reopen it first."))
    wanted = (username or "").strip().lower()
    allowed = dict(assignees(session, complaint))
    if wanted not in allowed:
        raise ComplaintInvalid([("assignee", _("{username} cannot handle this complaint: choose among {users}.",
                                                username=wanted or "—", users=", ".join(allowed) or "—"))])
    user_id = session.scalar(sa.select(User.id).where(User.username == wanted))
    complaint.assigned_to = user_id
    if complaint.state == "open":
        states.move(session, actor, "complaint", complaint, "in_progress", detail={"assigned_to": wanted})
    else:
        audit.record(session, actor, "assistance.complaint.assign", "complaint", complaint.id,
                     {"assigned_to": wanted})
    _changed(complaint)
    return complaint


def resolve(session: Session, actor: Actor, code: str, resolution: str, *, version: int | None = None,
            today: date | None = None) -> Complaint:
    """Record the answer given and mark the complaint resolved; the resolution is sealed."""
    complaint = _for_change(session, actor, code, version)
    states.check_move("complaint", complaint.state, "resolved")
    text = (resolution or "").strip()
    if not text:
        raise ComplaintInvalid([("resolution", _("This value is required."))])
    long = _too_long(text, MAX_RESOLUTION)
    if long:
        raise ComplaintInvalid([("resolution", long)])
    states.move(session, actor, "complaint", complaint, "resolved")
    complaint.resolution_sealed = keyring().seal(text)
    complaint.resolved_on = today or date.today()
    _changed(complaint)
    return complaint


def close(session: Session, actor: Actor, code: str, *, version: int | None = None) -> Complaint:
    complaint = _for_change(session, actor, code, version)
    states.move(session, actor, "complaint", complaint, "closed")
    _changed(complaint)
    return complaint


def reopen(session: Session, actor: Actor, code: str, *, version: int | None = None) -> Complaint:
    """A resolved complaint back in progress: the complainant was not satisfied."""
    complaint = _for_change(session, actor, code, version)
    states.move(session, actor, "complaint", complaint, "in_progress", detail={"reopened": True})
    complaint.resolved_on = None
    _changed(complaint)
    return complaint


# ---- export --------------------------------------------------------------------------------------


def csv_lines(session: Session, actor: Actor, filters: Filters = Filters(),
              today: date | None = None) -> Iterator[list[Any]]:
    """The queue as CSV rows (header first): codes, dates and categories, never what was said nor who."""
    today = today or date.today()
    _total, rows = queue(session, actor, filters, limit=None, today=today)
    yield CSV_COLUMNS
    for r in rows:
        c = r.complaint
        yield [c.code, c.received_on.isoformat(), c.channel, c.category, c.priority, int(c.sensitive), c.state,
               c.respond_by.isoformat(), int(r.overdue), c.resolved_on.isoformat() if c.resolved_on else "",
               safe_cell(r.programme or ""), safe_cell(r.household or ""), safe_cell(r.payment or ""),
               safe_cell(c.admin1 or ""), safe_cell(r.assignee or "")]


def write_csv(session: Session, actor: Actor, out: TextIO, filters: Filters = Filters(),
              today: date | None = None) -> int:
    """Write the queue as CSV; returns how many complaints. The export is audited."""
    writer = csv.writer(out)
    n = -1
    for line in csv_lines(session, actor, filters, today):
        writer.writerow(line)
        n += 1
    audit.record(session, actor, "assistance.complaint.export", "complaint", None,
                 {"rows": n, "filters": filters.query()})
    return n
