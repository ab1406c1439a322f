"""Payment providers: the shipped templates, adding one from TOML, and wrong templates refused in words."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.assistance import providers
from jatigi.assistance.models import PaymentProvider
from jatigi.core.audit import AuditEvent
from jatigi.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.unit.assistance import payment_data as d

GOOD = """
label = "Moov Money"
kind = "mobile_money"
format = "csv"
delimiter = ";"
phone_style = "XXXXXXXX"

[[columns]]
header = "Numero"
field = "msisdn"

[[columns]]
header = "Montant"
field = "amount"

[[columns]]
header = "Motif"
field = "text"
value = "Assistance"

[report]
reference = "Ref"
status = "Etat"
amount = "Montant paye"

[report.statuses]
OK = "paid"
KO = "failed"
"""


def test_the_shipped_providers_are_seeded_once(session: Session) -> None:
    assert providers.ensure_shipped(session) == 2
    assert providers.ensure_shipped(session) == 0
    rows = session.execute(sa.select(PaymentProvider.name, PaymentProvider.kind).order_by(PaymentProvider.name)).all()
    assert [tuple(r) for r in rows] == [("cash_distribution", "cash_list"), ("orange_money", "mobile_money")]
    orange = providers.template_of(providers.get_provider(session, "orange_money"))
    assert [c["header"] for c in orange.columns] == ["MSISDN", "Amount", "Currency", "Reference", "Name"]
    assert orange.format == "csv" and orange.needs_phone
    assert orange.report["statuses"] == {"SUCCESS": "paid", "FAILED": "failed", "EXPIRED": "unclaimed"}
    cash = providers.template_of(providers.get_provider(session, "cash_distribution"))
    assert cash.format == "pdf" and cash.data["group_by"] == "site" and "signature" in cash.fields
    assert not cash.needs_phone


def test_a_provider_is_added_from_toml_listed_and_replaced(session: Session) -> None:
    d.people(session)
    carla = d.f.actor(session, d.CASH)
    added = providers.add_provider(session, carla, "moov", GOOD, source="moov.toml")
    assert added.label == "Moov Money" and added.template["delimiter"] == ";"
    assert added.template["encoding"] == "utf-8" and added.template["report"]["date_format"] == "%Y-%m-%d"
    assert [p.name for p in providers.list_providers(session, carla)] == ["moov"]
    with pytest.raises(Conflict, match="exists already; give --replace"):
        providers.add_provider(session, carla, "moov", GOOD)
    replaced = providers.add_provider(session, carla, "moov", GOOD.replace('"Moov Money"', '"Moov Africa"'),
                                      replace=True)
    assert replaced.id == added.id and replaced.label == "Moov Africa"
    actions = session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "payment_provider")).all()
    assert actions == ["assistance.provider.add", "assistance.provider.replace"]


def test_only_programme_writers_add_providers_and_names_are_checked(session: Session) -> None:
    d.people(session)
    with pytest.raises(Forbidden):
        providers.add_provider(session, d.f.actor(session, d.IM), "moov", GOOD)
    with pytest.raises(ValidationFailed, match="lower-case letters"):
        providers.add_provider(session, d.f.actor(session, d.CASH), "Moov Money!", GOOD)
    with pytest.raises(NotFound, match="No payment provider wave; known: moov"):
        providers.add_provider(session, d.f.actor(session, d.CASH), "moov", GOOD)
        providers.get_provider(session, "wave")


@pytest.mark.parametrize(("change", "expected"), [
    (('format = "csv"', 'format = "docx"'), "format is 'docx'; accepted: csv, xlsx, pdf"),
    (('delimiter = ";"', 'delimter = ";"'), "delimter is not a template key; accepted: format, delimiter"),
    (('field = "amount"', 'field = "montant"'), "columns[2].field is 'montant'; accepted: number, msisdn, amount"),
    (('field = "msisdn"', 'field = "name"'), 'a mobile-money file needs a column with field = "msisdn"'),
    (('value = "Assistance"', ''), "columns[3].value is missing"),
    (('phone_style = "XXXXXXXX"', 'phone_style = "+33"'), "phone_style is '+33'; accepted: '223XXXXXXXX'"),
    (('KO = "failed"', 'KO = "lost"'), "report.statuses.KO is 'lost'; accepted: paid, failed, unclaimed"),
    (('status = "Etat"', ''), "report.status is missing; accepted: the name of that column"),
    (('kind = "mobile_money"', 'kind = "bank"'), "kind is 'bank'; accepted: mobile_money, cash_list"),
    (('[report]', '[reprot]'), "reprot is not a template key"),
])
def test_a_wrong_template_is_refused_naming_the_key_and_what_is_accepted(change: tuple[str, str],
                                                                          expected: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        providers.parse_toml(GOOD.replace(*change), "moov.toml")
    assert refused.value.message.startswith("The template is refused: ")
    assert expected in refused.value.message


def test_a_file_that_is_not_toml_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="moov.toml: not a readable TOML template"):
        providers.parse_toml("format = csv", "moov.toml")
