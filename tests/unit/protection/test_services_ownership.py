"""The directory's services of an organisation are changed only by that organisation (or an
administrator of organisations); an export imports back as it was, formula guard and all."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from jatigi.core.errors import Forbidden
from jatigi.protection import services as svc
from jatigi.protection.models import Service
from tests import factories as f
from tests import protection_factories as pf


def _data(**values: str) -> svc.ServiceIn:
    data = {"name": "Clinique PB", "service_type": "medical", "organisation": "PB", "area_pcode": f.BAMAKO_COMMUNE_IV,
            "phone": "+223 20 22 33 44"}
    data.update(values)
    return svc.ServiceIn.of(data)


def test_only_the_organisation_changes_its_service(session: Session, tmp_path: Path) -> None:
    team = pf.team(session)
    f.user(session, "admin.a", "PA", role="admin")
    clinic = svc.add_service(session=session, actor=team.outsider_supervisor, data=_data())
    outside = svc.add_service(session=session, actor=team.outsider_supervisor, data=_data(
        name="Abri", service_type="safe_shelter", organisation="", provider_name="Abri Femmes"))
    for change in (lambda: svc.edit_service(session=session, actor=team.supervisor, service_id=clinic.id,
                                            data=_data(email="x@example.org")),
                   lambda: svc.set_active(session=session, actor=team.supervisor, service_id=clinic.id, active=False)):
        with pytest.raises(Forbidden) as caught:
            change()
        assert "belongs to PB: only the people of PB (or an administrator) may change it" in caught.value.message
    session.refresh(clinic)
    assert clinic.active and clinic.email is None
    # Nor may one take another organisation's service over, nor move one's own to another organisation.
    with pytest.raises(Forbidden):
        svc.edit_service(session=session, actor=team.supervisor, service_id=outside.id, data=_data(name="Abri"))
    # Nor through an import that matches it.
    sheet = tmp_path / "s.csv"
    sheet.write_text("name,service_type,organisation,provider_name,area_pcode,phone\n"
                     f"Clinique PB,medical,PB,,{f.BAMAKO_COMMUNE_IV},+223 99 99 99 99\n", encoding="utf-8")
    with pytest.raises(svc.ImportInvalid) as refused:
        svc.import_services(session=session, actor=team.supervisor, path=sheet)
    assert refused.value.problems[0].column == "organisation" and "belongs to PB" in refused.value.problems[0].message
    session.refresh(clinic)
    assert clinic.phone == "+223 20 22 33 44"
    # Its organisation, and an administrator, may; a service without organisation: anyone who writes the directory.
    svc.edit_service(session=session, actor=team.outsider_supervisor, service_id=clinic.id,
                     data=_data(email="pb@example.org"))
    svc.set_active(session=session, actor=f.actor(session, "admin.a"), service_id=clinic.id, active=False)
    svc.set_active(session=session, actor=team.supervisor, service_id=outside.id, active=False)
    assert not clinic.active and clinic.email == "pb@example.org" and not outside.active


def test_an_export_imports_back_unchanged(session: Session, tmp_path: Path) -> None:
    team = pf.team(session)
    svc.add_service(session=session, actor=team.supervisor, data=_data(
        organisation="PA", phone="+223 20 22 33 44", notes="=not a formula", opening_hours="-"))
    out = io.StringIO()
    svc.write_csv(session=session, actor=team.supervisor, out=out)
    assert "'+223 20 22 33 44" in out.getvalue()  # the guard against spreadsheet formulas
    sheet = tmp_path / "export.csv"
    sheet.write_text(out.getvalue(), encoding="utf-8")
    done = svc.import_services(session=session, actor=team.supervisor, path=sheet)
    assert (done.added, done.updated) == (0, 1)
    service = session.get(Service, done.ids[0]) if done.ids else None
    service = service or session.query(Service).one()
    assert (service.phone, service.notes, service.opening_hours) == ("+223 20 22 33 44", "=not a formula", "-")
    assert svc.unguarded("'O'Brien") == "'O'Brien" and svc.unguarded("''+1") == "''+1"
