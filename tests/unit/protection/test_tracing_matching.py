"""Family tracing: a request finds a relative in the registry and in other requests, with the
linkage engine's name preparation (Malian spellings), and never a different name."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core.audit import AuditEvent
from jatigi.core.authz import SYSTEM
from jatigi.core.errors import Conflict, Forbidden, NotFound
from jatigi.dedup import runs, settings
from jatigi.dedup.model import Comparison, Level, Model
from jatigi.protection import tracing
from jatigi.protection.consent import record_consent, withdraw_consent
from jatigi.protection.models import CaseShare, TracingMatch, TracingRequest
from jatigi.registry.records import ConsentRecord, PersonRecord
from tests import factories as f
from tests import protection_factories as pf


def registry(session: Session) -> None:
    """Households of PB: a Mamadou Traore (the relative sought, written another way, with a phone
    of his own), a Mahmoud Traoré of the same age and place, and unrelated people in Mopti."""
    f.user(session, "reg.b", "PB", role="registration_officer")
    reg = f.actor(session, "reg.b")
    f.household(session, reg, members=[
        PersonRecord(1, "Mamadou", "Traore", "m", "head", date(1988, 1, 1), phone="76 99 88 77"),
        PersonRecord(2, "Fatoumata", "Diarra", "f", "spouse", date(1992, 5, 3)),
    ])
    f.household(session, reg, members=[
        PersonRecord(1, "Mahmoud", "Traoré", "m", "head", date(1988, 4, 2)),
        PersonRecord(2, "Awa", "Traoré", "f", "child", date(2012, 2, 2)),
    ])
    for given, family, born in (("Oumar", "Coulibaly", 1975), ("Mariam", "Keïta", 1980), ("Seydou", "Diakité", 1990),
                                ("Bakary", "Sangaré", 1968), ("Adama", "Touré", 1995), ("Salif", "Kanté", 1985)):
        f.household(session, reg, current_pcode=f.MOPTI_COMMUNE, members=[
            PersonRecord(1, given, family, "m", "head", date(born, 1, 1)),
            PersonRecord(2, "Aminata", family, "f", "spouse", date(born + 3, 1, 1))])


def _new(**overrides: object) -> tracing.NewRequest:
    values = {"sought_given_name": "Mahamadou", "sought_family_name": "Traoré", "sought_sex": "m",
              "sought_birth_year": "1988", "last_seen_pcode": f.BAMAKO_COMMUNE_IV, "relationship": "sibling",
              "separated_on": "2024-02-01", "inquirer_given_name": "Kadiatou", "inquirer_family_name": "Traoré",
              "inquirer_sex": "f", "inquirer_contact": "76 00 00 01", "inquirer_consented": True}
    values.update(overrides)
    return tracing.NewRequest(**values)  # type: ignore[arg-type]


def test_matching_finds_a_spelling_variant_and_not_another_name(session: Session) -> None:
    team = pf.team(session)
    registry(session)
    request = tracing.create_request(session, team.caseworker, _new())
    detail = tracing.request_detail(session, team.caseworker, request.code)
    found = [(c.given_name, c.family_name) for c in detail.candidates if c.kind == "person"]
    assert found == [("Mamadou", "Traore")]
    candidate = detail.candidates[0]
    assert candidate.probability >= 0.5 and candidate.state == "proposed"
    assert candidate.birth_year == 1988 and candidate.organisation.startswith("PB")
    assert ("given_name", "same name") in candidate.why
    # Mohamed is not Mahmoud: a request for Mohamed Traoré finds nobody.
    other = tracing.create_request(session, team.caseworker, _new(sought_given_name="Mohamed",
                                                                  inquirer_given_name="Sali"))
    names = [(c.given_name, c.kind) for c in tracing.request_detail(session, team.caseworker, other.code).candidates]
    assert ("Mahmoud", "person") not in names


def test_households_without_tracing_consent_are_not_searched(session: Session) -> None:
    team = pf.team(session)
    f.user(session, "reg.b", "PB", role="registration_officer")
    f.household(session, f.actor(session, "reg.b"), consents=[ConsentRecord("registration", True)], members=[
        PersonRecord(1, "Mamadou", "Traore", "m", "head", date(1988, 1, 1))])
    request = tracing.create_request(session, team.caseworker, _new())
    assert session.scalar(sa.select(sa.func.count()).select_from(TracingMatch)
                          .where(TracingMatch.request_id == request.id)) == 0


def test_cross_request_matching_parent_and_child(session: Session) -> None:
    team = pf.team(session)
    f.places(session)
    # A mother (PA) seeks her son Issa Diallo; the boy (PB) seeks his mother Hawa Diallo.
    mother = tracing.create_request(session, team.caseworker, _new(
        sought_given_name="Issa", sought_family_name="Diallo", sought_birth_year="2014", relationship="child",
        inquirer_given_name="Hawa", inquirer_family_name="Diallo"))
    child = tracing.create_request(session, team.outsider, _new(
        sought_given_name="Haoua", sought_family_name="Jallo", sought_sex="f", sought_birth_year="",
        sought_age="", relationship="parent", inquirer_given_name="Issa", inquirer_family_name="Diallo",
        inquirer_sex="m"))
    mine = tracing.request_detail(session, team.caseworker, mother.code).candidates
    theirs = tracing.request_detail(session, team.outsider, child.code).candidates
    assert [(c.kind, c.role, c.given_name) for c in mine] == [("request", "inquirer", "Issa")]
    assert mine[0].organisation.startswith("PB") and mine[0].other_code is None  # not ours to open
    assert [c.kind for c in theirs] == ["request"]
    # Confirming sets the request matched; it then ends reunified with a note.
    tracing.decide_match(session, team.caseworker, mother.code, mine[0].match_id, "confirm")
    assert session.get(TracingRequest, mother.id).state == "matched"  # type: ignore[union-attr]
    tracing.close_request(session, team.caseworker, mother.code, "reunified", "Réunis à Mopti.")
    detail = tracing.request_detail(session, team.caseworker, mother.code)
    assert detail.request.state == "reunified" and detail.outcome["note"] == "Réunis à Mopti."


def test_consent_of_the_linked_case_gates_matching(session: Session) -> None:
    team = pf.team(session)
    registry(session)
    case = pf.case(session, team.caseworker, team.supervisor, case_type="tracing")
    request = tracing.create_request(session, team.caseworker, _new(case=case.code, inquirer_consented=False))
    assert request.case_id == case.id
    with pytest.raises(Conflict, match="No consent to tracing on case"):
        tracing.match_request(session, team.caseworker, request.code)
    consent = record_consent(session=session, actor=team.caseworker, case=case, purpose="tracing", granted=True)
    result = tracing.match_request(session, team.caseworker, request.code)
    assert result.proposed == 1 and result.model == "default"
    withdraw_consent(session=session, actor=team.caseworker, case=case, consent_id=consent.id)
    with pytest.raises(Conflict):
        tracing.match_request(session, team.caseworker, request.code)


def test_unlinked_request_needs_the_inquirers_consent(session: Session) -> None:
    team = pf.team(session)
    with pytest.raises(tracing.TracingInvalid) as refused:
        tracing.create_request(session, team.caseworker, _new(inquirer_consented=False))
    assert [name for name, _m in refused.value.problems] == ["consent"]
    assert session.scalar(sa.select(sa.func.count()).select_from(TracingRequest)) == 0


def test_bad_input_names_each_field_and_writes_nothing(session: Session) -> None:
    team = pf.team(session)
    with pytest.raises(tracing.TracingInvalid) as refused:
        tracing.create_request(session, team.caseworker, _new(
            sought_given_name="", sought_birth_year="3000", relationship="cousin", last_seen_pcode="ML999999",
            separated_on="2099-01-01", case="CAS-NOPE99", inquirer_given_name="", inquirer_family_name=""))
    assert {name for name, _m in refused.value.problems} == {
        "sought_given_name", "sought_birth_year", "relationship", "last_seen_pcode", "separated_on", "case",
        "inquirer_given_name"}
    assert session.scalar(sa.select(sa.func.count()).select_from(TracingRequest)) == 0


def test_the_registry_model_of_the_last_dedup_run_is_used_when_there_is_one(session: Session) -> None:
    """A model trained by `jatigi dedup run` compares more fields (phone, place, household); the
    tracing rows leave them empty and the search uses it all the same."""
    team = pf.team(session)
    registry(session)
    rendered = settings.render(tuple(settings.FIELDS), "duckdb")
    model = Model(fields=tuple(settings.FIELDS), prior=0.001, comparisons=[
        Comparison(c["output_column_name"], [Level(lv.get("label_for_charts", ""), null=True)
                                             if lv.get("is_null_level") else
                                             Level(lv.get("label_for_charts", ""), 0.5, 0.5)
                                             for lv in c["comparison_levels"]])
        for c in rendered["comparisons"]])
    runs.save_model(session, actor=SYSTEM, model=model, engine="duckdb", training_size=16, labels=0)
    request = tracing.create_request(session, team.caseworker, _new(inquirer_consented=True))
    result = tracing.match_request(session, team.caseworker, request.code, threshold=tracing.MIN_THRESHOLD)
    # Every level of this model weighs nothing: what is left is the prior (1 in 1,000), for the one
    # candidate compared — under the lowest threshold a search may use, so nobody is listed.
    assert result.model == "trained" and result.compared == 1 and result.proposed == 0
    with pytest.raises(tracing.TracingInvalid):
        tracing.match_request(session, team.caseworker, request.code, threshold=0.0001)


def test_need_to_know(session: Session) -> None:
    team = pf.team(session)
    f.user(session, "im.a", "PA", role="im_officer")
    request = tracing.create_request(session, team.caseworker, _new())
    assert tracing.get_request(session, team.supervisor, request.code).id == request.id  # their organisation's
    for other in (team.colleague, team.outsider, team.outsider_supervisor):
        with pytest.raises(NotFound, match=f"No tracing request {request.code} that you may see."):
            tracing.get_request(session, other, request.code)
        assert tracing.list_requests(session, other)[0] == 0
    with pytest.raises(Forbidden):
        tracing.list_requests(session, f.actor(session, "im.a"))
    # A colleague who may see the linked case reads the request; only its caseworker or a supervisor changes it.
    case = pf.case(session, team.caseworker, team.supervisor, case_type="tracing")
    session.add(CaseShare(case_id=case.id, user_id=team.colleague.user_id, reason="Relève",
                          granted_by=team.supervisor.user_id))
    linked = tracing.create_request(session, team.caseworker, _new(case=case.code, inquirer_consented=False))
    assert tracing.request_detail(session, team.colleague, linked.code).may_write is False
    with pytest.raises(Forbidden):
        tracing.close_request(session, team.colleague, linked.code, "closed", "Fin.")


def test_names_written_in_each_others_field_are_found(session: Session) -> None:
    team = pf.team(session)
    registry(session)
    request = tracing.create_request(session, team.caseworker, _new(sought_given_name="TRAORE",
                                                                    sought_family_name="Mahamadou"))
    found = [(c.given_name, c.family_name) for c in tracing.request_detail(session, team.caseworker,
                                                                           request.code).candidates]
    assert found == [("Mamadou", "Traore")]


def test_a_match_found_by_another_organisation_is_audited_on_both_requests(session: Session) -> None:
    team = pf.team(session)
    mine = tracing.create_request(session, team.caseworker, _new(
        sought_given_name="Issa", sought_family_name="Diallo", sought_birth_year="2014", relationship="child",
        inquirer_given_name="Hawa", inquirer_family_name="Diallo"))
    tracing.create_request(session, team.outsider, _new(
        sought_given_name="Hawa", sought_family_name="Diallo", sought_sex="f", sought_birth_year="",
        relationship="parent", inquirer_given_name="Issa", inquirer_family_name="Diallo", inquirer_sex="m"))
    events = session.execute(sa.select(AuditEvent.actor, AuditEvent.action, AuditEvent.entity_id).where(
        AuditEvent.entity_type == "tracing_request", AuditEvent.action == "protection.tracing.match_from")).all()
    assert [(who, str(entity)) for who, _a, entity in events] == [("cw.b", str(mine.id))]
