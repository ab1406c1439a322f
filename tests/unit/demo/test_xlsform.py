"""The registration XLSForm converts with pyxform, in French and English, with its repeats."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook
from pyxform.xls2xform import convert

from jatigi.registry import form_spec
from jatigi.registry.xlsform import write_registration_form


def test_registration_form_converts_with_pyxform(tmp_path: Path) -> None:
    path = write_registration_form(tmp_path / "registration.xlsx")

    result = convert(xlsform=str(path))

    xform = result.xform
    for repeat in ("members", "separated_relatives", "movements"):
        assert f'<repeat nodeset="/data/{repeat}">' in xform
    assert 'lang="French (fr)" default="true()"' in xform
    assert 'lang="English (en)"' in xform
    assert "Date of displacement" in xform
    assert '<bind nodeset="/data/start" jr:preload="timestamp"' in xform
    assert f'id="{form_spec.FORM_ID}"' in xform and f'version="{form_spec.FORM_VERSION}"' in xform


def test_form_sheets_carry_every_field_and_choice(tmp_path: Path) -> None:
    wb = load_workbook(write_registration_form(tmp_path / "form.xlsx"), read_only=True)
    assert wb.sheetnames == ["survey", "choices", "settings"]
    survey = list(wb["survey"].iter_rows(values_only=True))
    header = survey[0]
    assert header[:4] == ("type", "name", "label::French (fr)", "label::English (en)")
    assert "constraint_message::English (en)" in header
    rows = {r[1]: r for r in survey[1:] if r[1]}
    assert rows["priority_needs"][0] == "select_multiple needs"
    assert rows["consent_registration"][header.index("required")] == "yes"
    assert rows["members"][0] == "begin repeat"
    assert [r[0] for r in survey[1:4]] == ["start", "end", "today"]
    expected = {f.name for g in form_spec.GROUPS for f in g.fields}
    assert expected <= set(rows)
    choices = list(wb["choices"].iter_rows(values_only=True))
    assert ("specific_needs", "SC-CH") in {(r[0], r[1]) for r in choices}
    settings = list(wb["settings"].iter_rows(values_only=True))
    assert settings[1][1:] == (form_spec.FORM_ID, form_spec.FORM_VERSION, "French (fr)")
