"""The service directory: add, edit, deactivate, list by area (with the units above and inside),
import all-or-nothing with each bad row named, export in the columns the import reads."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core.audit import AuditEvent
from jatigi.core.errors import Forbidden
from jatigi.protection import services as svc
from jatigi.protection.models import Service
from tests import factories as f
from tests import protection_factories as pf


def _add(session: Session, actor: object, **values: str) -> Service:
    data = {"name": "Clinique de la Commune IV", "service_type": "medical", "organisation": "PB",
            "area_pcode": f.BAMAKO_COMMUNE_IV, "phone": "+223 20 22 33 44", "opening_hours": "Lun-Ven 8h-17h"}
    data.update(values)
    return svc.add_service(session=session, actor=actor, data=svc.ServiceIn.of(data))  # type: ignore[arg-type]


def _names(session: Session, actor: object, **filters: object) -> list[str]:
    _total, rows = svc.list_services(session=session, actor=actor, filters=svc.Filters(**filters))  # type: ignore[arg-type]
    return [r.service.name for r in rows]


def test_add_edit_deactivate_and_list_by_area(session: Session) -> None:
    team = pf.team(session)
    sup = team.outsider_supervisor  # PB's supervisor: the clinic is PB's, only PB adds it in its name
    clinic = _add(session, sup)
    assert clinic.provider_name == "Organisation PB" and clinic.organisation_id is not None
    _add(session, sup, name="Écoute Bamako", service_type="psychosocial", organisation="", provider_name="APDF",
         area_pcode="ML09")
    _add(session, sup, name="Ligne verte nationale", service_type="security", organisation="", provider_name="État",
         area_pcode="ML")
    _add(session, sup, name="Clinique de Mopti", area_pcode=f.MOPTI_COMMUNE)

    cw = team.caseworker
    # A commune's list shows its own services and those of the region and the country; not Mopti's.
    assert sorted(_names(session, cw, area=f.BAMAKO_COMMUNE_IV)) == [
        "Clinique de la Commune IV", "Ligne verte nationale", "Écoute Bamako"]
    # A region's list also shows the services of the units inside it.
    assert "Clinique de la Commune IV" in _names(session, cw, area="ML09")
    assert _names(session, cw, area=f.BAMAKO_COMMUNE_IV, service_type="medical") == ["Clinique de la Commune IV"]

    pb = team.outsider_supervisor  # the clinic is PB's: PB changes it
    edited = svc.edit_service(session=session, actor=pb, service_id=clinic.id, data=svc.ServiceIn.of(
        {"name": "Clinique CSCOM IV", "service_type": "medical", "organisation": "PB",
         "area_pcode": f.BAMAKO_COMMUNE_IV, "email": "cscom4@example.org"}))
    assert edited.email == "cscom4@example.org" and edited.phone is None
    svc.set_active(session=session, actor=pb, service_id=clinic.id, active=False)
    assert "Clinique CSCOM IV" not in _names(session, cw, area=f.BAMAKO_COMMUNE_IV)
    assert "Clinique CSCOM IV" in _names(session, cw, area=f.BAMAKO_COMMUNE_IV, inactive=True)
    actions = set(session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "protection_service")))
    assert {"protection.service.add", "protection.service.edit", "protection.service.deactivate"} <= actions


def test_bad_service_names_each_field_and_writes_nothing(session: Session) -> None:
    team = pf.team(session)
    with pytest.raises(svc.ServiceInvalid) as caught:
        _add(session, team.supervisor, name="", service_type="food", organisation="NOPE", area_pcode="ML999",
             email="not-an-email")
    fields = dict(caught.value.problems)
    assert set(fields) == {"name", "service_type", "organisation", "area_pcode", "email"}
    assert "accepted: medical, psychosocial, legal" in fields["service_type"]
    with pytest.raises(svc.ServiceInvalid) as caught:
        _add(session, team.supervisor, organisation="", provider_name="")
    assert dict(caught.value.problems) == {"provider_name": "Give the provider's name, or choose its organisation."}
    assert session.scalar(sa.select(sa.func.count()).select_from(Service)) == 0


def test_only_service_writers_change_the_directory(session: Session) -> None:
    team = pf.team(session)
    with pytest.raises(Forbidden):
        _add(session, team.caseworker)  # caseworkers read the directory, supervisors keep it


def _csv(tmp_path: Path, text: str, name: str = "services.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_is_all_or_nothing_and_names_each_bad_row(session: Session, tmp_path: Path) -> None:
    team = pf.team(session)
    bad = _csv(tmp_path, "name,service_type,organisation,provider_name,area_pcode,phone,active\n"
                         "Clinique A,medical,PB,,ML090104,+223 20 00 00 00,yes\n"
                         "Abri B,shelter,,Abri,ML090104,,oui\n"
                         "Juriste C,legal,,,ML777,,peut-être\n")
    with pytest.raises(svc.ImportInvalid) as caught:
        svc.import_services(session=session, actor=team.supervisor, path=bad)
    found = {(p.row, p.column): p for p in caught.value.problems}
    assert set(found) == {(3, "service_type"), (4, "area_pcode"), (4, "provider_name"), (4, "active")}
    assert found[(3, "service_type")].value == "shelter"
    assert "accepted: medical, psychosocial, legal, safe_shelter" in found[(3, "service_type")].message
    assert found[(4, "area_pcode")].value == "ML777"
    assert session.scalar(sa.select(sa.func.count()).select_from(Service)) == 0

    unknown = _csv(tmp_path, "nom,service_type\nX,medical\n", "cols.csv")
    with pytest.raises(svc.ImportInvalid) as caught:
        svc.import_services(session=session, actor=team.supervisor, path=unknown)
    assert {(p.row, p.column) for p in caught.value.problems} == {(1, "nom"), (1, "name"), (1, "area_pcode")}

    good = _csv(tmp_path, "name,service_type,organisation,provider_name,area_pcode,opening_hours\n"
                          "Clinique A,medical,PB,,ML090104,8h-17h\n"
                          "Abri B,safe_shelter,,Abri Femmes,ML09,24h/24\n", "good.csv")
    with pytest.raises(svc.ImportInvalid):  # PA may not add a clinic in PB's name
        svc.import_services(session=session, actor=team.supervisor, path=good)
    done = svc.import_services(session=session, actor=team.outsider_supervisor, path=good)
    assert (done.added, done.updated) == (2, 0)
    again = svc.import_services(session=session, actor=team.outsider_supervisor, path=good)  # PB's clinic
    assert (again.added, again.updated) == (0, 2)  # the same file twice: no duplicate

    out = io.StringIO()
    assert svc.write_csv(session=session, actor=team.caseworker, out=out) == 2
    lines = list(csv.reader(io.StringIO(out.getvalue())))
    assert lines[0] == list(svc.COLUMNS)
    assert ["Abri B", "safe_shelter", "", "Abri Femmes", "ML09", "", "", "", "24h/24", "", "yes"] in lines


def test_import_reads_xlsx(session: Session, tmp_path: Path) -> None:
    from openpyxl import Workbook

    team = pf.team(session)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["name", "service_type", "provider_name", "area_pcode"])
    ws.append(["Centre d'écoute", "psychosocial", "APDF", f.MOPTI_COMMUNE])
    path = tmp_path / "services.xlsx"
    wb.save(path)
    done = svc.import_services(session=session, actor=team.supervisor, path=path)
    assert done.added == 1
    assert _names(session, team.caseworker, area=f.MOPTI_COMMUNE) == ["Centre d'écoute"]
