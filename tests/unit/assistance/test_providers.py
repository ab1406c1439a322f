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
header = "Ref paiement"
field = "reference"

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
    ada = d.f.actor(session, d.ADMIN)
    added = providers.add_provider(session, ada, "moov", GOOD, source="moov.toml")
    assert added.label == "Moov Money" and added.template["delimiter"] == ";"
    assert added.template["encoding"] == "utf-8" and added.template["report"]["date_format"] == "%Y-%m-%d"
    assert [p.name for p in providers.list_providers(session, d.f.actor(session, d.CASH))] == ["moov"]
    with pytest.raises(Conflict, match="exists already; give --replace"):
        providers.add_provider(session, ada, "moov", GOOD)
    replaced = providers.add_provider(session, ada, "moov", GOOD.replace('"Moov Money"', '"Moov Africa"'),
                                      replace=True)
    assert replaced.id == added.id and replaced.label == "Moov Africa"
    actions = session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "payment_provider")).all()
    assert actions == ["assistance.provider.add", "assistance.provider.replace"]


def test_only_administrators_add_or_replace_providers_shared_by_every_organisation(session: Session) -> None:
    d.people(session)
    for user in (d.IM, d.CASH):  # a cash officer runs programmes, but a provider is every organisation's
        with pytest.raises(Forbidden, match="assistance:provider:write"):
            providers.add_provider(session, d.f.actor(session, user), "moov", GOOD)
    ada = d.f.actor(session, d.ADMIN)
    providers.add_provider(session, ada, "moov", GOOD)
    with pytest.raises(Forbidden, match="assistance:provider:write"):
        providers.add_provider(session, d.f.actor(session, d.CASH), "moov", GOOD.replace("Assistance", "X"),
                               replace=True)
    assert providers.get_provider(session, "moov").template["columns"][3]["value"] == "Assistance"
    with pytest.raises(ValidationFailed, match="lower-case letters"):
        providers.add_provider(session, ada, "Moov Money!", GOOD)
    with pytest.raises(NotFound, match="No payment provider wave; known: moov"):
        providers.get_provider(session, "wave")


@pytest.mark.parametrize(("change", "expected"), [
    (('format = "csv"', 'format = "docx"'), "format is 'docx'; accepted: csv, xlsx, pdf"),
    (('delimiter = ";"', 'delimter = ";"'), "delimter is not a template key; accepted: format, delimiter"),
    (('field = "amount"', 'field = "montant"'), "columns[2].field is 'montant'; accepted: number, msisdn, amount"),
    (('field = "msisdn"', 'field = "name"'), 'a mobile-money file needs a column with field = "msisdn"'),
    (('value = "Assistance"', ''), "columns[4].value is missing"),
    (('phone_style = "XXXXXXXX"', 'phone_style = "+33"'), "phone_style is '+33'; accepted: '223XXXXXXXX'"),
    (('KO = "failed"', 'KO = "lost"'), "report.statuses.KO is 'lost'; accepted: paid, failed, unclaimed"),
    (('status = "Etat"', ''), "report.status is missing; accepted: the name of that column"),
    (('kind = "mobile_money"', 'kind = "bank"'), "kind is 'bank'; accepted: mobile_money, cash_list"),
    (('[report]', '[reprot]'), "reprot is not a template key"),
    # The money's columns hold their own fields, never a constant text or another field.
    (('header = "Numero"\nfield = "msisdn"', 'header = "Numero"\nfield = "msisdn"\n[[columns]]\nheader = "Telephone"\n'
      'field = "text"\nvalue = "76 00 00 00"'),
     "columns[2].field is 'text' under the header 'Telephone', which names msisdn; accepted: field = \"msisdn\""),
    (('value = "Assistance"', 'value = "Assistance 76000000"'),
     "columns[4].value is 'Assistance 76000000'; accepted: a text without a number of more than 4 digits"),
    (('field = "amount"', 'field = "text"\nvalue = "1"'),
     "columns[2].field is 'text' under the header 'Montant', which names amount; accepted: field = \"amount\""),
    (('field = "amount"', 'field = "number"'), 'columns: no column has field = "amount"; accepted: one'),
    (('header = "Ref paiement"\nfield = "reference"', 'header = "Référence"\nfield = "household_code"'),
     "columns[3].field is 'household_code' under the header 'Référence', which names reference"),
    (('header = "Motif"\nfield = "text"\nvalue = "Assistance"', 'header = "Motif"\nfield = "amount"'),
     'columns: 2 columns have field = "amount"; accepted: one'),
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


def test_a_stored_template_no_longer_accepted_is_not_used(session: Session) -> None:
    d.people(session)
    moov = providers.add_provider(session, d.f.actor(session, d.ADMIN), "moov", GOOD)
    columns = [dict(c) for c in moov.template["columns"]]
    columns[0] = {"header": "Numero", "field": "text", "value": "22376000000"}  # every payment to one number
    session.execute(sa.update(PaymentProvider).where(PaymentProvider.id == moov.id)
                    .values(template={**moov.template, "columns": columns}))
    session.expire_all()
    with pytest.raises(ValidationFailed) as refused:
        providers.get_provider(session, "moov", in_use=True)
    assert refused.value.message.startswith("The payment provider moov cannot be used until an administrator replaces "
                                            "its template. The template is refused: ")
    assert providers.get_provider(session, "moov").name == "moov"  # still shown
