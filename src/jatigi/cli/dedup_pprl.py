"""`jatigi dedup pprl secret | encode | match`: linking lists across agencies without sharing names.

Each agency encodes its own list with the secret the agencies share; only the encodings travel;
whoever matches needs the encodings, not the secret. Bad input stops with a message and exit code 2.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import typer

from jatigi.cli.common import console, err_console
from jatigi.core.errors import JatigiError, ValidationFailed
from jatigi.core.i18n import _, number
from jatigi.dedup import pprl, pprl_match
from jatigi.dedup.listfile import parse_map, read_people

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                  help=_("Privacy-preserving linkage: encode a list with a shared secret, match encodings."))

SHOWN_PROBLEMS = 10
BAD_INPUT = 2

F = TypeVar("F", bound=Callable[..., Any])


def bad_input_exits(fn: F) -> F:
    """A problem with the files or options: one clear line and exit code 2, never a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except JatigiError as exc:
            err_console.print(_("Error: {message}", message=exc.message), style="red", soft_wrap=True)
            raise typer.Exit(BAD_INPUT) from None
        except OSError as exc:
            err_console.print(_("Error: cannot use the file {file} ({reason}).",
                                file=exc.filename or "—", reason=exc.strerror or type(exc).__name__), style="red", soft_wrap=True)
            raise typer.Exit(BAD_INPUT) from None

    return wrapper  # type: ignore[return-value]


@app.command("secret", help=_("Write a new random secret to share with the partner agencies (never with the "
                              "encodings)."))
@bad_input_exits
def secret(out: Path = typer.Option(..., "--out", help=_("The secret file to create; it must not exist."))) -> None:
    """Write a new random secret (readable by its owner only)."""
    if out.exists():
        raise ValidationFailed(_("{file} exists already; a secret is never overwritten.", file=str(out)))
    pprl.new_secret(out)
    console.print(_("Secret written to {file} (readable by you only). Give it to the partner agencies by a "
                    "separate, safe channel; never send it with the encodings.", file=str(out)), soft_wrap=True)


@app.command("encode", help=_("Encode a list of people (CSV or XLSX) into keyed Bloom filters, with no name or "
                              "other value in clear."))
@bad_input_exits
def encode(
    input_file: Path = typer.Argument(..., help=_("The list of people: CSV or XLSX.")),
    secret_file: Path = typer.Option(..., "--secret-file", help=_("The secret shared by the agencies.")),
    id_column: str = typer.Option(..., "--id-column", help=_("The column with each person's id in this list.")),
    mapping: list[str] = typer.Option(None, "--map", help=_("Which column holds each field: given_name=…,"
                                                            "family_name=…,full_name=…,birth_date=…,age=…,sex=…,"
                                                            "phone=…,place=…,id_number=…,address=… (default: "
                                                            "columns named like the fields).")),
    out: Path = typer.Option(..., "--out", help=_("The CSV file of encodings to write.")),
    delimiter: str = typer.Option(None, "--delimiter", help=_("CSV delimiter (default: guessed).")),
    ages_on: str = typer.Option(None, "--ages-on", help=_("The day the list was made (YYYY-MM-DD), from which ages "
                                                          "are counted back (default: today).")),
) -> None:
    """Encode a list of people under the shared secret."""
    key = pprl.load_secret(secret_file)
    fields = parse_map(mapping) if mapping else {}
    people = read_people(input_file, id_column=id_column, mapping=fields, delimiter=delimiter,
                         reference=_day(ages_on))
    for p in people.problems[:SHOWN_PROBLEMS]:
        err_console.print(_("Row {row}, {field}: {message} The value is left empty.", row=p.row, field=p.field,
                            message=p.message), soft_wrap=True)
    if len(people.problems) > SHOWN_PROBLEMS:
        err_console.print(_("… and {n} more values that could not be read.", n=len(people.problems) - SHOWN_PROBLEMS),
                          soft_wrap=True)
    if "address" in fields:
        console.print(_("The address is not used by privacy-preserving linkage."), soft_wrap=True)
    partial = out.with_name(f".{out.name}.part")
    try:
        n = pprl.write_encodings(partial, _rows(people.table), key)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    console.print(_("{n} people encoded into {file}. Send this file only; the secret never travels with it.",
                    n=number(n), file=str(out)), soft_wrap=True)


def _rows(table: pa.Table) -> Iterator[dict[str, Any]]:
    for batch in table.to_batches(max_chunksize=50_000):
        yield from batch.to_pylist()


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed(_("--ages-on: {value} is not a date written YYYY-MM-DD.", value=text)) from None


@app.command("match", help=_("Find the same people in two files of encodings (or within one), without the secret."))
@bad_input_exits
def match(
    file_a: Path = typer.Argument(..., help=_("Encodings of the first list.")),
    file_b: Path = typer.Argument(None, help=_("Encodings of the second list; without it, duplicates within the "
                                               "first.")),
    out: Path = typer.Option(..., "--out", help=_("The CSV file of pairs to write: id_a,id_b,match_probability.")),
    threshold: float = typer.Option(pprl_match.THRESHOLD, "--threshold",
                                    help=_("Keep pairs from this match probability (0 to 1).")),
    link: str = typer.Option("all", "--link", help=_("all (default); one-to-one: each record in one pair at most; "
                                                     "many-to-one: each record of the first file in one pair at "
                                                     "most.")),
) -> None:
    """Match two files of encodings, or one with itself."""
    if not 0 <= threshold <= 1:
        raise ValidationFailed(_("--threshold: {value} is not between 0 and 1.", value=threshold))
    if link not in pprl_match.LINKS:
        raise ValidationFailed(_("--link: unknown value {value}; accepted: {accepted}.", value=link,
                                 accepted=", ".join(pprl_match.LINKS)))
    a = pprl.read_encodings(file_a)
    same = file_b is None or file_b.resolve() == file_a.resolve()
    b = None if same else pprl.read_encodings(file_b)
    result = pprl_match.match(a, b, threshold=threshold, link=link)
    pprl_match.write_pairs(out, result.pairs)
    if result.skipped_blocks:
        console.print(_("{n} blocking values were shared by too many records to compare all their pairs; those "
                        "pairs were compared only when they share another key.", n=number(result.skipped_blocks)), soft_wrap=True)
    if not result.candidates:
        console.print(_("No two records share a blocking key (phone, names with birth year or place, sound of the "
                        "names, id number): nothing could be compared. Pairs written: 0."), soft_wrap=True)
        return
    if b is None:
        console.print(_("{file}: {n} records; {candidates} candidate pairs compared; {pairs} pairs at or above "
                        "{threshold} written to {out}.", file=a.name, n=number(len(a)),
                        candidates=number(result.candidates), pairs=number(len(result.pairs)),
                        threshold=threshold, out=str(out)), soft_wrap=True)
    else:
        console.print(_("{a} ({n_a} records) and {b} ({n_b} records): {candidates} candidate pairs compared; "
                        "{pairs} pairs at or above {threshold} written to {out}.", a=a.name, n_a=number(len(a)),
                        b=b.name, n_b=number(len(b)), candidates=number(result.candidates),
                        pairs=number(len(result.pairs)), threshold=threshold, out=str(out)), soft_wrap=True)
