"""`jatigi places`: import COD-AB boundaries and places, load the gazetteer, list admin units."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
import typer
from rich.table import Table

from jatigi.cli.common import AS_USER, acting_user, console, db_session, friendly_errors
from jatigi.core.authz import Permission
from jatigi.core.i18n import _
from jatigi.places import cod, service
from jatigi.places.models import AdminUnit

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)


def _show(result: cod.ImportResult) -> None:
    table = Table(_("Level"), _("Units"), _("Inserted"), _("Updated"), _("Country"))
    table.add_column(_("File"), overflow="fold")
    for layer in result.layers:
        table.add_row(str(layer.level), str(layer.units), str(layer.inserted), str(layer.updated),
                      ", ".join(layer.countries), layer.source)
    console.print(table)
    console.print(_("{source}: {inserted} admin units inserted, {updated} updated.",
                    source=result.source, inserted=result.inserted, updated=result.updated),
                  highlight=False)


@app.command("import",
             help=_("Import one OCHA COD-AB file of any country: all of it, or nothing if a row is wrong."))
@friendly_errors
def import_file(
    file: Path = typer.Argument(..., help=_("GeoJSON, shapefile (.shp or .zip) or places CSV.")),
    level: int = typer.Option(None, "--level", help=_("Admin level of the file (default: guessed).")),
    pcode_column: str = typer.Option(None, "--pcode-column", help=_("Column holding the P-codes.")),
    name_column: str = typer.Option(None, "--name-column", help=_("Column holding the names.")),
    parent_column: str = typer.Option(None, "--parent-column",
                                      help=_("Column holding the parents' P-codes.")),
    country: str = typer.Option(None, "--country", help=_("Country code, such as ML or BF.")),
    as_user: str = AS_USER,
) -> None:
    """Import one OCHA COD-AB file of any country: all of it, or nothing if a row is wrong."""
    with db_session() as session, console.status(_("Importing {file}…", file=file.name)):
        actor = acting_user(session, as_user)
        result = cod.import_cod_file(session=session, actor=actor, path=file, level=level,
                                     pcode_column=pcode_column, name_column=name_column,
                                     parent_column=parent_column, country=country)
    _show(result)


@app.command("import-dir", help=_("Import a folder of COD-AB files, parents first: all of them, or nothing."))
@friendly_errors
def import_dir(
    directory: Path = typer.Argument(..., help=_("Folder of *adm0* … *adm4* files and places CSVs.")),
    as_user: str = AS_USER,
) -> None:
    """Import a folder of COD-AB files, parents first: all of them, or nothing."""
    with db_session() as session, console.status(_("Importing {file}…", file=directory.name)) as status:
        actor = acting_user(session, as_user)

        def progress(name: str) -> None:
            status.update(_("Importing {file}…", file=name))

        result = cod.load_cod_dir(session=session, actor=actor, directory=directory,
                                  progress=progress)
    _show(result)


@app.command("gazetteer",
             help=_("Load the built-in Mali gazetteer (regions, cercles, Bamako communes and quartiers)."))
@friendly_errors
def gazetteer(as_user: str = AS_USER) -> None:
    """Load the built-in Mali gazetteer (regions, cercles, Bamako communes and quartiers)."""
    with db_session() as session:
        actor = acting_user(session, as_user)
        total, added = service.install_gazetteer(session=session, actor=actor)
    console.print(_("Gazetteer loaded: {total} admin units, {added} of them new.",
                    total=total, added=added), highlight=False)


@app.command("list", help=_("List admin units with their P-code, name, level and parent."))
@friendly_errors
def list_units(
    level: int = typer.Option(None, "--level", help=_("Only units of this level (0 = country).")),
    parent: str = typer.Option(None, "--parent", help=_("Only the units directly under this P-code.")),
    limit: int = typer.Option(500, "--limit", help=_("Show at most this many units.")),
    as_user: str = AS_USER,
) -> None:
    """List admin units with their P-code, name, level and parent."""
    with db_session() as session:
        acting_user(session, as_user).require(Permission.PLACES_ADMIN_UNIT_READ)
        q = sa.select(sa.func.count()).select_from(AdminUnit)
        if level is not None:
            q = q.where(AdminUnit.level == level)
        if parent is not None:
            q = q.where(AdminUnit.parent_pcode == parent)
        total = session.scalar(q) or 0
        table = Table(_("P-code"), _("Name"), _("Level"), _("Parent"), _("Latitude"), _("Longitude"))
        for i, unit in enumerate(service.units(session=session, level=level, parent=parent)):
            if i >= limit:
                break
            table.add_row(
                unit.pcode, unit.name, str(unit.level), unit.parent_pcode or "",
                "" if unit.centroid_lat is None else f"{unit.centroid_lat:.5f}",
                "" if unit.centroid_lon is None else f"{unit.centroid_lon:.5f}",
            )
    if total == 0:
        console.print(_("No admin units match."))
        return
    console.print(table)
    if total > limit:
        console.print(_("Showing {shown} of {total} admin units; use --limit to see more.",
                        shown=limit, total=total), highlight=False)
