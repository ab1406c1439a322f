"""`jatigi protection`: protection case management — cases, referrals and the service directory,
family tracing, monitoring and statistics, retention.

Each part adds its own sub-group here (see cli/protection_*.py)."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)

from jatigi.cli.protection_tracing import tracing_app  # noqa: E402
from jatigi.core.i18n import _  # noqa: E402

app.add_typer(tracing_app, name="tracing", help=_("Family tracing: requests, matches, reunification."))

from jatigi.cli.protection_referrals import referrals_app, services_app  # noqa: E402

app.add_typer(services_app, name="services", help=_("The service directory (the referral pathway): list, add, "
                                                     "import."))
app.add_typer(referrals_app, name="referrals", help=_("Referrals to other organisations, with consent: list, send, "
                                                      "answer."))

from jatigi.cli.protection_cases import cases_app  # noqa: E402

app.add_typer(cases_app, name="cases", help=_("Protection and GBV cases: list, show, open, closure, reopening."))

from jatigi.cli.protection_monitoring import monitoring_app, statistics_app  # noqa: E402

app.add_typer(monitoring_app, name="monitoring", help=_("Protection monitoring reports and the protection analysis."))
app.add_typer(statistics_app, name="statistics", help=_("GBVIMS statistics: consented cases only, agencies pooled, "
                                                        "small counts hidden."))

from jatigi.cli.protection_retention import retention_app  # noqa: E402

app.add_typer(retention_app, name="retention", help=_("Retention: anonymise closed cases and tracing requests past "
                                                      "their retention period."))
