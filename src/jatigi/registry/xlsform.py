"""The registration XLSForm, written from `form_spec` so that the form field teams fill in on
KoboCollect / ODK Collect is exactly what the importer reads back.

English labels are the message ids; French labels come from the translation catalogue. French
is the form's default language, as in the interface.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from jatigi.core.i18n import N_, _, use_language
from jatigi.registry import form_spec
from jatigi.registry.form_spec import Field, Group

LANGS = (("fr", "French (fr)"), ("en", "English (en)"))
DEFAULT_LANGUAGE = "French (fr)"
FORM_TITLE = N_("Registration of displaced and host households")

SURVEY_COLUMNS = (
    "type", "name",
    *(f"label::{name}" for _code, name in LANGS),
    *(f"hint::{name}" for _code, name in LANGS),
    "required", "relevant", "constraint",
    *(f"constraint_message::{name}" for _code, name in LANGS),
)
CHOICES_COLUMNS = ("list_name", "name", *(f"label::{name}" for _code, name in LANGS))
SETTINGS_COLUMNS = ("form_title", "form_id", "version", "default_language")

# Kobo/ODK metadata the device fills in by itself.
METADATA = ("start", "end", "today")


def _in_both(msgid: str | None) -> list[str | None]:
    """The text in each form language, in `LANGS` order."""
    if not msgid:
        return [None] * len(LANGS)
    out: list[str | None] = []
    for code, _name in LANGS:
        with use_language(code):
            out.append(_(msgid))
    return out


def field_type(f: Field) -> str:
    return f"{f.type} {f.choices}" if f.choices else f.type


def _field_row(f: Field) -> list[str | None]:
    return [
        field_type(f), f.name, *_in_both(f.label), *_in_both(f.hint),
        "yes" if f.required else None, f.relevant, f.constraint,
        *_in_both(f.constraint_message if f.constraint else None),
    ]


def _blank(kind: str, name: str | None = None) -> list[str | None]:
    row: list[str | None] = [None] * len(SURVEY_COLUMNS)
    row[0], row[1] = kind, name
    return row


def survey_rows() -> Iterator[list[str | None]]:
    for name in METADATA:
        yield _blank(name, name)
    for group in form_spec.GROUPS:
        yield from _group_rows(group)


def _group_rows(group: Group) -> Iterator[list[str | None]]:
    kind = "repeat" if group.repeat else "group"
    head = _blank(f"begin {kind}", group.name)
    head[2 : 2 + len(LANGS)] = _in_both(group.label)
    yield head
    for f in group.fields:
        yield _field_row(f)
    yield _blank(f"end {kind}")


def choice_rows() -> Iterator[list[str | None]]:
    for list_name, options in form_spec.CHOICE_LISTS.items():
        for code, label in options.items():
            yield [list_name, code, *_in_both(label)]


def settings_row() -> list[str]:
    with use_language("fr"):
        title = _(FORM_TITLE)
    return [title, form_spec.FORM_ID, form_spec.FORM_VERSION, DEFAULT_LANGUAGE]


def write_registration_form(path: Path | str) -> Path:
    """Write the registration XLSForm (sheets survey, choices, settings) to `path`."""
    path = Path(path)
    wb = Workbook()
    sheets = (
        ("survey", SURVEY_COLUMNS, survey_rows()),
        ("choices", CHOICES_COLUMNS, choice_rows()),
        ("settings", SETTINGS_COLUMNS, iter([settings_row()])),
    )
    bold = Font(bold=True)
    for i, (title, columns, rows) in enumerate(sheets):
        ws = wb.active if i == 0 else wb.create_sheet()
        assert ws is not None
        ws.title = title
        ws.append(list(columns))
        for cell in ws[1]:
            cell.font = bold
        for row in rows:
            ws.append(row)
        ws.freeze_panes = "A2"
        for col, header in zip(ws.iter_cols(min_row=1, max_row=1), columns, strict=True):
            width = 40 if header.startswith(("label", "hint", "constraint", "relevant")) else 18
            ws.column_dimensions[col[0].column_letter].width = width
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
