"""Financial service providers and the templates of the files they take and send back.

A provider is a row of `payment_providers`: a name used on the command line, a label, a kind
(mobile-money operator or cash-in-hand distribution list) and a template (JSON) saying how its
payment file is written — format, delimiter, encoding, how amounts and phone numbers are written,
its columns — and how its report on the payments is read: the columns of the reference, the
status, the amount paid…, and which of its status words mean paid, failed or unclaimed.

Two providers are shipped (`provider_templates/*.toml`) and seeded by `ensure_shipped`; administrators
add others from a TOML file of the same shape (a provider is shared by every organisation). A wrong
template is refused, naming each wrong key and what it accepts. The amount, the reference and the
mobile-money number come only from their own fields: a template has one amount and one reference
column, a column whose header names one of them holds that field, and a constant text holds no
number that could stand in for them.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.assistance import vocab
from jatigi.assistance.models import PaymentProvider
from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import Conflict, NotFound, ValidationFailed
from jatigi.core.i18n import N_, _

SHIPPED_DIR = Path(__file__).resolve().parent / "provider_templates"
SHIPPED = ("orange_money", "cash_distribution")

FORMATS = ("csv", "xlsx", "pdf")
DELIMITERS = (",", ";", "\t", "|")
ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "iso-8859-1")
DECIMALS = ("none", "point", "comma")  # 15000, 15000.00, 15000,00
PHONE_STYLES = ("223XXXXXXXX", "+223XXXXXXXX", "00223XXXXXXXX", "XXXXXXXX")
GROUPS = ("site",)
REPORT_OUTCOMES = ("paid", "failed", "unclaimed")

# What a column of a payment file can hold; the label heads a column that names no header.
FIELDS: dict[str, str] = {
    "number": N_("No."),
    "msisdn": N_("Mobile-money number"),
    "amount": N_("Amount (FCFA)"),
    "currency": N_("Currency"),
    "reference": N_("Reference"),
    "name": N_("Recipient"),
    "given_name": N_("Given name"),
    "family_name": N_("Family name"),
    "household_code": N_("Household"),
    "site": N_("Distribution site"),
    "site_pcode": N_("Site P-code"),
    "period": N_("Period"),
    "cycle": N_("Cycle"),
    "programme": N_("Programme"),
    "signature": N_("Signature or thumbprint"),
    "text": N_("Text"),
}
TEMPLATE_KEYS = ("format", "delimiter", "encoding", "decimal", "header", "phone_style", "group_by", "title",
                 "columns", "report")
COLUMN_KEYS = ("header", "field", "value")
REPORT_COLUMNS = ("reference", "status", "amount", "currency", "date", "transaction")
REPORT_REQUIRED = ("reference", "status", "amount")
REPORT_KEYS = (*REPORT_COLUMNS, "date_format", "decimal", "delimiter", "statuses")
FILE_KEYS = ("name", "label", "kind")  # besides the template, in a TOML file
# The fields the money depends on, and the words of a header that name them (accents and case aside).
MONEY_FIELDS = ("msisdn", "amount", "reference")
REQUIRED_ONCE = ("amount", "reference")
HEADER_WORDS: dict[str, frozenset[str]] = {
    "msisdn": frozenset({"msisdn", "phone", "telephone", "tel", "mobile", "gsm", "wallet"}),
    "amount": frozenset({"amount", "montant", "somme", "sum"}),
    "reference": frozenset({"reference", "ref", "references"}),
}
TEXT_MAX_DIGITS = 4  # a constant text may hold a year, never a phone number or an amount
_DIGIT_RUN = re.compile(r"\d(?:[\d ]*\d)?")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")
DEFAULTS: dict[str, Any] = {"delimiter": ",", "encoding": "utf-8", "decimal": "none", "header": True,
                            "phone_style": "223XXXXXXXX"}
REPORT_DEFAULTS: dict[str, Any] = {"date_format": "%Y-%m-%d", "decimal": "point"}


@dataclass(frozen=True)
class Template:
    """A provider's template, checked and with its defaults filled in."""

    data: dict[str, Any]

    @property
    def format(self) -> str:
        return str(self.data["format"])

    @property
    def columns(self) -> list[dict[str, str]]:
        return list(self.data["columns"])

    @property
    def fields(self) -> list[str]:
        return [c["field"] for c in self.data["columns"]]

    @property
    def report(self) -> dict[str, Any]:
        return dict(self.data["report"])

    def header_of(self, column: dict[str, str]) -> str:
        return column.get("header") or _(FIELDS[column["field"]])

    @property
    def needs_phone(self) -> bool:
        return "msisdn" in self.fields


def _accepted(values: Any) -> str:
    return ", ".join(repr(v) if isinstance(v, str) and not v.isidentifier() else str(v) for v in values)


def _choice(problems: list[str], key: str, value: Any, accepted: tuple[str, ...]) -> None:
    if value not in accepted:
        problems.append(_("{key} is {value}; accepted: {accepted}", key=key, value=repr(value),
                          accepted=_accepted(accepted)))


def _key(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _unknown(problems: list[str], where: str, keys: Any, accepted: tuple[str, ...]) -> None:
    for key in keys:
        if key not in accepted:
            named = _key(where, key)
            problems.append(_("{key} is not a template key; accepted: {accepted}", key=named,
                              accepted=", ".join(accepted)))


def check_template(raw: dict[str, Any], kind: str) -> Template:
    """The template with its defaults, or ValidationFailed naming every wrong key and what it accepts."""
    problems: list[str] = []
    _unknown(problems, "", raw, TEMPLATE_KEYS)
    data = {**DEFAULTS, **raw}
    _choice(problems, "format", data.get("format"), FORMATS)
    _choice(problems, "delimiter", data["delimiter"], DELIMITERS)
    _choice(problems, "encoding", data["encoding"], ENCODINGS)
    _choice(problems, "decimal", data["decimal"], DECIMALS)
    _choice(problems, "phone_style", data["phone_style"], PHONE_STYLES)
    if not isinstance(data["header"], bool):
        problems.append(_("{key} is {value}; accepted: true, false", key="header", value=repr(data["header"])))
    if "group_by" in data:
        _choice(problems, "group_by", data["group_by"], GROUPS)
    if "title" in data and not isinstance(data["title"], str):
        problems.append(_("{key} is {value}; accepted: a text", key="title", value=repr(data["title"])))
    _check_columns(problems, data.get("columns"))
    fields = [c.get("field") for c in data.get("columns") or [] if isinstance(c, dict)]
    if kind == "mobile_money" and "msisdn" not in fields:
        problems.append(_("columns: a mobile-money file needs a column with field = \"msisdn\""))
    if isinstance(data.get("columns"), list) and data["columns"]:
        _check_money_fields(problems, fields)
    data["report"] = _check_report(problems, data.get("report"))
    if problems:
        raise ValidationFailed(_("The template is refused: {problems}.", problems="; ".join(problems)))
    return Template(data)


def _check_columns(problems: list[str], columns: Any) -> None:
    if not isinstance(columns, list) or not columns:
        problems.append(_("columns is missing; accepted: a list of [[columns]] tables, each with a field "
                          "and a header"))
        return
    for i, column in enumerate(columns, start=1):
        where = f"columns[{i}]"
        if not isinstance(column, dict):
            problems.append(_("{key} is not a table; accepted: header = \"…\", field = \"…\"", key=where))
            continue
        _unknown(problems, where, column, COLUMN_KEYS)
        _choice(problems, f"{where}.field", column.get("field"), tuple(FIELDS))
        if "header" in column and not isinstance(column["header"], str):
            named = _key(where, "header")
            problems.append(_("{key} is {value}; accepted: a text", key=named, value=repr(column["header"])))
        if column.get("field") == "text" and not isinstance(column.get("value"), str):
            named = _key(where, "value")
            problems.append(_("{key} is missing; accepted: the text to write in every row", key=named))
        elif column.get("field") == "text" and _digits_run(column["value"]) > TEXT_MAX_DIGITS:
            named = _key(where, "value")
            problems.append(_("{key} is {value}; accepted: a text without a number of more than {n} digits (the "
                              "amount, the reference and the phone number come from their own fields)",
                              key=named, value=repr(column["value"]), n=TEXT_MAX_DIGITS))
        if isinstance(column.get("header"), str) and column.get("field") in FIELDS:
            named_fields = header_names(column["header"])
            if named_fields and column["field"] not in named_fields:
                wanted = ", ".join(f'field = "{f}"' for f in named_fields)
                named = _key(where, "field")
                problems.append(_("{key} is {value} under the header {header}, which names {what}; accepted: "
                                  "{wanted}", key=named, value=repr(column["field"]),
                                  header=repr(column["header"]), what=", ".join(named_fields), wanted=wanted))


def _words(text: str) -> set[str]:
    """The words of a header, lower-case and without accents."""
    bare = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return set(re.findall(r"[a-z0-9]+", bare.casefold()))


def header_names(header: str) -> list[str]:
    """The fields the money depends on that a header names (e.g. "Montant" names the amount)."""
    words = _words(header)
    return [field for field in MONEY_FIELDS if words & HEADER_WORDS[field]]


def _digits_run(text: str) -> int:
    """The most digits in one number of the text (spaces inside a number count as part of it)."""
    return max((len(run.replace(" ", "")) for run in _DIGIT_RUN.findall(text)), default=0)


def _check_money_fields(problems: list[str], fields: list[Any]) -> None:
    """One amount and one reference column, at most one mobile-money number."""
    for field in MONEY_FIELDS:
        n = fields.count(field)
        if n > 1:
            problems.append(_("columns: {n} columns have field = \"{field}\"; accepted: one", n=n, field=field))
        elif n == 0 and field in REQUIRED_ONCE:
            problems.append(_("columns: no column has field = \"{field}\"; accepted: one", field=field))


def _check_report(problems: list[str], report: Any) -> dict[str, Any]:
    if not isinstance(report, dict):
        problems.append(_("report is missing; accepted: a [report] table naming the columns {columns} and "
                          "a [report.statuses] table", columns=", ".join(REPORT_REQUIRED)))
        return {}
    _unknown(problems, "report", report, REPORT_KEYS)
    data = {**REPORT_DEFAULTS, **report}
    for key in REPORT_REQUIRED:
        if not isinstance(data.get(key), str) or not data[key].strip():
            named = _key("report", key)
            problems.append(_("{key} is missing; accepted: the name of that column in the provider's report",
                              key=named))
    for key in REPORT_COLUMNS:
        if key in data and not isinstance(data[key], str):
            named = _key("report", key)
            problems.append(_("{key} is {value}; accepted: a column name", key=named, value=repr(data[key])))
    _choice(problems, "report.decimal", data["decimal"], DECIMALS)
    if "delimiter" in data:
        _choice(problems, "report.delimiter", data["delimiter"], DELIMITERS)
    if not isinstance(data["date_format"], str) or "%" not in data["date_format"]:
        problems.append(_("{key} is {value}; accepted: a date format such as %Y-%m-%d or %d/%m/%Y",
                          key="report.date_format", value=repr(data["date_format"])))
    statuses = data.get("statuses")
    if not isinstance(statuses, dict) or not statuses:
        problems.append(_("report.statuses is missing; accepted: a table of the provider's status words, each "
                          "mapped to {outcomes}", outcomes=", ".join(REPORT_OUTCOMES)))
    else:
        for word, outcome in statuses.items():
            _choice(problems, f"report.statuses.{word}", outcome, REPORT_OUTCOMES)
        data["statuses"] = {str(k).strip(): v for k, v in statuses.items()}
    return data


def parse_toml(text: str, source: str) -> tuple[str | None, str, dict[str, Any]]:
    """(label, kind, template) of a template file; ValidationFailed when it is not TOML or wrong."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationFailed(_("{file}: not a readable TOML template ({error}).", file=source,
                                 error=str(exc))) from None
    label = raw.pop("label", None)
    raw.pop("name", None)
    kind = raw.pop("kind", None)
    if kind not in vocab.PROVIDER_KINDS:
        raise ValidationFailed(_("The template is refused: {problems}.", problems=_(
            "kind is {value}; accepted: {accepted}", value=repr(kind), accepted=", ".join(vocab.PROVIDER_KINDS))))
    if label is not None and not isinstance(label, str):
        raise ValidationFailed(_("The template is refused: {problems}.", problems=_(
            "{key} is {value}; accepted: a text", key="label", value=repr(label))))
    return label, kind, check_template(raw, kind).data


def template_of(provider: PaymentProvider) -> Template:
    return Template(provider.template)


# --- Stored providers ---------------------------------------------------------------------------------


def ensure_shipped(session: Session) -> int:
    """Seed the shipped providers that are missing (never changing one already there); how many were added."""
    have = set(session.scalars(sa.select(PaymentProvider.name).where(PaymentProvider.name.in_(SHIPPED))))
    added = 0
    for name in SHIPPED:
        if name in have:
            continue
        label, kind, template = parse_toml((SHIPPED_DIR / f"{name}.toml").read_text(encoding="utf-8"), name)
        session.add(PaymentProvider(name=name, label=label or name, kind=kind, template=template, active=True))
        added += 1
    if added:
        session.flush()
    return added


def list_providers(session: Session, actor: Actor) -> list[PaymentProvider]:
    actor.require(Permission.ASSISTANCE_PROGRAMME_READ)
    return list(session.scalars(sa.select(PaymentProvider).order_by(PaymentProvider.name)))


def get_provider(session: Session, name: str, *, in_use: bool = False) -> PaymentProvider:
    """The provider of that name (NotFound naming those known); with `in_use`, refused when inactive:
    no file is made for it and no report of it is applied."""
    provider = session.scalar(sa.select(PaymentProvider).where(PaymentProvider.name == name.strip().lower()))
    if provider is None:
        known = session.scalars(sa.select(PaymentProvider.name).order_by(PaymentProvider.name)).all()
        raise NotFound(_("No payment provider {name}; known: {known}.", name=name,
                         known=", ".join(known) or _("none")))
    if in_use:
        check_in_use(provider)
    return provider


def check_in_use(provider: PaymentProvider) -> None:
    """ValidationFailed when the provider is inactive, or its stored template is no longer accepted."""
    if not provider.active:
        raise ValidationFailed(_("The payment provider {name} is inactive: no payment file is made for it and no "
                                 "report of it is applied.", name=provider.name))
    try:
        check_template(dict(provider.template), provider.kind)
    except ValidationFailed as exc:
        raise ValidationFailed(_("The payment provider {name} cannot be used until an administrator replaces its "
                                 "template. {problems}", name=provider.name, problems=exc.message)) from None


def add_provider(session: Session, actor: Actor, name: str, text: str, *, source: str = "template",
                 label: str | None = None, replace: bool = False) -> PaymentProvider:
    """Add a provider from a TOML template (or replace the template of one, when `replace`). Providers are
    shared by every organisation: administrators only (ASSISTANCE_PROVIDER_WRITE)."""
    actor.require(Permission.ASSISTANCE_PROVIDER_WRITE)
    name = name.strip().lower()
    if not NAME_PATTERN.match(name):
        raise ValidationFailed(_("The name {name} is refused; accepted: 2 to 40 lower-case letters, digits, _ or -, "
                                 "starting with a letter.", name=repr(name)))
    file_label, kind, template = parse_toml(text, source)
    provider = session.scalar(sa.select(PaymentProvider).where(PaymentProvider.name == name))
    if provider is not None and not replace:
        raise Conflict(_("A payment provider {name} exists already; give --replace to replace its template.",
                         name=name))
    if provider is None:
        provider = PaymentProvider(name=name, active=True)
        session.add(provider)
    provider.label = (label or file_label or provider.label or name)[:200]
    provider.kind = kind
    provider.template = template
    session.flush()
    audit.record(session, actor, "assistance.provider.replace" if replace else "assistance.provider.add",
                 "payment_provider", provider.id, {"name": name, "kind": kind, "format": template["format"]})
    return provider
