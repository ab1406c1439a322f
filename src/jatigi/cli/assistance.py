"""`jatigi assistance`: cash assistance — programmes and cycles, payments, complaints and monitoring.

Each part adds its own sub-group here (see cli/assistance_*.py)."""

from __future__ import annotations

import typer

from jatigi.core.i18n import _

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)

from jatigi.cli.assistance_programmes import cycles_app, programmes_app  # noqa: E402

app.add_typer(programmes_app, name="programmes", help=_("Programmes: create, enrol households, activate, close; "
                                                        "entitlement formulas."))
app.add_typer(cycles_app, name="cycles", help=_("Monthly cycles: create, prepare, approve (four eyes), reject, "
                                                "cancel, show."))

from jatigi.cli.assistance_feedback import complaints_app, pdm_app  # noqa: E402

app.add_typer(complaints_app, name="complaints", help=_("Complaints and feedback: record, list, show, assign, "
                                                        "resolve, close, reopen."))
app.add_typer(pdm_app, name="pdm", help=_("Post-distribution monitoring: import interviews, show a cycle's "
                                          "indicators."))

from jatigi.cli.assistance_payments import payments_app, providers_app  # noqa: E402

app.add_typer(providers_app, name="providers", help=_("Payment providers and the templates of their files: list, "
                                                      "show, add."))
app.add_typer(payments_app, name="payments", help=_("Payment files for providers and the reconciliation of their "
                                                    "reports."))

from jatigi.cli.assistance_coverage import coverage_app  # noqa: E402

app.add_typer(coverage_app, name="coverage", help=_("Coverage and gaps per area and population group; continuity "
                                                    "of assistance for households still vulnerable."))
