"""The shapes of the cash assistance API (programme_api, cycle_api, payment_api), and how programmes,
cycles, payments, reconciliations, indicators and coverage become them.

Amounts are whole FCFA with `currency` "XOF"; codes stay as stored, labels are in the caller's language.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from jatigi.assistance import coverage as coverage_
from jatigi.assistance import pdm, states, vocab
from jatigi.assistance.cycles import CycleView, period_label
from jatigi.assistance.entitlement import Explanation
from jatigi.assistance.models import Cycle, Payment, Programme, Transition
from jatigi.assistance.payment_lines import Line
from jatigi.assistance.programmes import ProgrammeFigures, add_months
from jatigi.core.i18n import _

CURRENCY = Field(vocab.CURRENCY, description="Every amount is in whole CFA francs (XOF, written FCFA).")
MAX_ID = 2**31 - 1
MAX_AMOUNT = 10**12


# --- Requests --------------------------------------------------------------------------------------

class ProgrammeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200)
    sector: str = Field(max_length=20, description="multipurpose, food, shelter, health, education, livelihoods, "
                                                   "protection, wash or nfi: the purpose households are assisted for.")
    modality: str = Field(max_length=20, description="mobile_money, cash_in_hand, voucher or in_kind.")
    start_month: str = Field(max_length=20, description="The first month assisted, YYYY-MM.")
    planned_months: int = Field(description="How many monthly cycles, 1 to 36.")
    formula: str = Field(max_length=20_000, description="The entitlement formula: its TOML text, or the name of a "
                                                        "shipped one (rent_support, household_size, meb_gap).")
    donor: str | None = Field(None, max_length=200)
    objective: str | None = Field(None, max_length=2000)
    area_pcode: str | None = Field(None, max_length=20, description="Where the programme works; households living "
                                                                    "elsewhere are held as moved away.")
    provider: str | None = Field(None, max_length=40, description="The payment provider's name (see "
                                                                  "/assistance/providers).")


class ProgrammePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    sector: str | None = Field(None, max_length=20)
    modality: str | None = Field(None, max_length=20)
    start_month: str | None = Field(None, max_length=20, description="YYYY-MM.")
    planned_months: int | None = None
    formula: str | None = Field(None, max_length=20_000)
    donor: str | None = Field(None, max_length=200)
    objective: str | None = Field(None, max_length=2000)
    area_pcode: str | None = Field(None, max_length=20)
    provider: str | None = Field(None, max_length=40)
    version: int | None = Field(None, ge=1, le=MAX_ID, description="The version read; refused (409) if it changed "
                                                                   "meanwhile.")


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=500, description="Why; required to cancel or reject.")


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=500, description="A note kept in the cycle's history (optional).")


class EnrolIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run: int | None = Field(None, ge=1, le=MAX_ID, description="A scoring run: enrol its households in `categories` "
                                                               "(default: all but the lowest), or those a budget "
                                                               "reaches.")
    categories: list[str] | None = Field(None, max_length=20)
    budget: int | None = Field(None, ge=0, le=MAX_AMOUNT, description="With run: the budget, FCFA.")
    transfer_value: int | None = Field(None, gt=0, le=MAX_AMOUNT, description="With budget: FCFA per household "
                                                                              "per month.")
    months: int | None = Field(None, gt=0, le=1200, description="With budget: how many monthly transfers.")
    household: str | None = Field(None, max_length=20, description="Instead of run: one household's code.")


class ExitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    household: str = Field(max_length=20)
    reason: str = Field(max_length=300)


class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str = Field(max_length=40, description="The provider's name: orange_money, cash_distribution or "
                                                     "one added.")


# --- Programmes ------------------------------------------------------------------------------------

class FormulaOut(BaseModel):
    id: str | None
    version: int | None
    title: str | None


class ProgrammeOut(BaseModel):
    id: int
    code: str
    name: str
    organisation: str
    donor: str | None
    sector: str
    sector_label: str
    objective: str | None
    modality: str
    modality_label: str
    currency: str = CURRENCY
    start_month: str
    end_month: str
    planned_months: int
    area_pcode: str | None
    provider: str | None
    targeting_run_id: int | None
    formula: FormulaOut
    state: str
    state_label: str
    version: int
    created_at: datetime
    updated_at: datetime
    enrolled: int = Field(description="Households enrolled and not exited.")
    exited: int
    cycles: int
    paid: int = Field(description="FCFA paid so far (payments reconciled as paid).")


class ProgrammeDetailOut(ProgrammeOut):
    formula_text: str


class EnrolledOut(BaseModel):
    programme: str
    found: int = Field(description="Households in the source (that you may see).")
    enrolled: int = Field(description="Newly enrolled.")
    skipped: int = Field(description="Already enrolled.")
    message: str


class ExitedOut(BaseModel):
    programme: str
    household: str
    exited_at: datetime
    reason: str


class EnrolledHouseholdOut(BaseModel):
    household_code: str
    source: str
    score: float | None
    enrolled_at: datetime
    exited_at: datetime | None
    exit_reason: str | None


class EnrolledPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[EnrolledHouseholdOut]


# --- Cycles ----------------------------------------------------------------------------------------

class HeldOut(BaseModel):
    reason: str
    label: str
    households: int


class CycleOut(BaseModel):
    id: int
    programme: str
    number: int
    period: str = Field(description="The month it covers, YYYY-MM.")
    period_start: date
    period_end: date
    state: str
    state_label: str
    version: int
    currency: str = CURRENCY
    households: int = Field(description="Enrolled households with a line, as prepared.")
    due: int
    held: list[HeldOut]
    held_total: int
    reissued: int = Field(description="Failed or unclaimed payments of earlier cycles paid again in this one.")
    reissued_amount: int
    total_due: int
    prepared_at: datetime | None
    approved_at: datetime | None
    sent_at: datetime | None
    reconciled_at: datetime | None
    closed_at: datetime | None = None


class StateTotalOut(BaseModel):
    state: str
    label: str
    lines: int
    amount: int


class TransitionOut(BaseModel):
    at: datetime
    by: str
    from_state: str | None
    to_state: str
    reason: str | None
    detail: dict[str, Any] | None


class CycleDetailOut(CycleOut):
    prepared_by: str | None
    approved_by: str | None
    payments: list[StateTotalOut] = Field(description="The payments as they are now, by state.")
    history: list[TransitionOut]


class PaymentOut(BaseModel):
    reference: str
    household_code: str
    state: str
    state_label: str
    hold_reason: str | None
    hold_reason_label: str | None
    amount: int = Field(description="The entitlement, FCFA.")
    amount_paid: int | None
    paid_on: date | None
    provider_status: str | None
    reissue_of: str | None = Field(description="The reference of the failed or unclaimed payment this one replaces.")
    currency: str = CURRENCY


class PaymentPage(BaseModel):
    cycle_id: int
    total: int
    limit: int
    offset: int
    items: list[PaymentOut]


class ComponentOut(BaseModel):
    id: str
    label: str
    amount: float | None = Field(description="null: not assessed (a value it reads is missing).")
    applies: bool | None = Field(description="For a top-up: whether its condition is met (null: cannot be told).")
    detail: str


class LineOut(BaseModel):
    reference: str
    state: str
    hold_reason: str | None
    amount: int


class EntitlementOut(BaseModel):
    household_code: str
    programme: str
    formula: FormulaOut
    components: list[ComponentOut]
    total: float | None = Field(description="Before the cap and rounding.")
    capped: bool
    amount: int = Field(description="The monthly amount from the household's data as they are now, FCFA.")
    currency: str = CURRENCY
    values: dict[str, Any]
    payment: LineOut | None = Field(None, description="The household's line in the cycle, as prepared.")


# --- Payments --------------------------------------------------------------------------------------

class ProviderColumnOut(BaseModel):
    header: str
    field: str


class ProviderOut(BaseModel):
    name: str
    label: str
    kind: str
    kind_label: str
    format: str
    active: bool
    columns: list[ProviderColumnOut]
    report_columns: dict[str, str] = Field(description="The columns of the provider's report, by what they hold.")
    statuses: dict[str, str] = Field(description="The provider's status words and what each means: paid, failed "
                                                 "or unclaimed.")


class ProblemOut(BaseModel):
    sheet: str
    row: int
    column: str
    value: str
    message: str
    kind: str = ""


class ReconciliationOut(BaseModel):
    id: int
    cycle_id: int
    file: str
    lines: int
    paid: int
    failed: int
    unclaimed: int
    unchanged: int
    problem_count: int
    by_problem: dict[str, int]
    problems: list[ProblemOut]
    cycle_state: str
    message: str


class RateOut(BaseModel):
    name: str
    label: str
    yes: int
    of: int
    percent: int | None = Field(description="null under five answers: read yes and of.")


class PdmOut(BaseModel):
    cycle_id: int
    cycle_number: int
    programme: str
    interviews: int
    small: bool = Field(description="Fewer than five interviews: counts, not percentages.")
    indicators: list[RateOut]
    spending: list[RateOut]
    amount_received: int
    currency: str = CURRENCY


class PdmImportOut(BaseModel):
    cycle_id: int
    file: str
    rows: int = Field(description="Rows read (empty rows are skipped).")
    added: int = Field(description="Interviews added.")
    already: int = Field(description="Interviews imported already (the same _uuid, or without one the same payment "
                                     "the same day): not added again.")
    interviews: int = Field(description="The cycle's interviews now.")
    message: str


class NeedOut(BaseModel):
    households: int
    uncovered: int
    share_uncovered: float | None


class CoverageRowOut(BaseModel):
    pcode: str | None
    area: str
    population_group: str
    households: int
    enrolled: int
    assisted: int
    share_assisted: float | None
    household_months: int
    months_per_assisted: float | None
    amount_paid: int
    currency: str = CURRENCY
    needs: dict[str, NeedOut]


class CoverageOut(BaseModel):
    since: date
    until: date
    level: int
    rows: list[CoverageRowOut]
    total: CoverageRowOut


class ContinuityOut(BaseModel):
    programme: str
    name: str
    ends_on: date
    enrolled: int
    rescored: int = Field(description="Enrolled households scored in the latest run of the model that selected them.")
    still_vulnerable: int
    model: str | None
    run_id: int | None


# --- Refusals --------------------------------------------------------------------------------------

REFUSED: dict[int | str, dict[str, Any]] = {422: {"description": "Bad input: each problem with its field and reason."}}


def refused(problems: list[tuple[str, str]], values: dict[str, Any] | None = None) -> JSONResponse:
    """A 422 naming each field and its problem, in the shape of every other refused request."""
    given = values or {}
    shown = [{"sheet": "request", "row": 1, "column": name,
              "value": "" if given.get(name) is None else str(given.get(name))[:80], "message": message}
             for name, message in problems]
    return JSONResponse({"detail": _("The request was not accepted: {n} problems.", n=len(shown)),
                         "problem_count": len(shown), "problems": shown}, status_code=422)


def file_refused(detail: str, problems: list[ProblemOut], count: int) -> JSONResponse:
    """A 422 for an uploaded file, with its problems by row (the first ones when there are many)."""
    return JSONResponse({"detail": detail, "problem_count": count, "problems": [p.model_dump() for p in problems]},
                        status_code=422)


# --- Conversions -----------------------------------------------------------------------------------

def formula_out(text: str) -> FormulaOut:
    from jatigi.assistance.formula import FormulaError, load_formula

    try:
        f = load_formula(text)
    except FormulaError:
        return FormulaOut(id=None, version=None, title=None)
    return FormulaOut(id=f.id, version=f.version, title=f.title.get())


def programme_out(fig: ProgrammeFigures, organisation: str, provider: str | None, *,
                  detail: bool = False) -> ProgrammeOut:
    p: Programme = fig.programme
    values: dict[str, Any] = dict(
        id=p.id, code=p.code, name=p.name, organisation=organisation, donor=p.donor, sector=p.sector,
        sector_label=_(vocab.SECTORS.get(p.sector, p.sector)), objective=p.objective, modality=p.modality,
        modality_label=_(vocab.MODALITIES.get(p.modality, p.modality)), start_month=p.start_month.strftime("%Y-%m"),
        end_month=add_months(p.start_month, p.planned_months - 1).strftime("%Y-%m"), planned_months=p.planned_months,
        area_pcode=p.area_pcode, provider=provider, targeting_run_id=p.targeting_run_id,
        formula=formula_out(p.formula), state=p.state, state_label=states.state_label("programme", p.state),
        version=p.version, created_at=p.created_at, updated_at=p.updated_at, enrolled=fig.enrolled,
        exited=fig.exited, cycles=fig.cycles, paid=fig.paid)
    if detail:
        return ProgrammeDetailOut(**values, formula_text=p.formula)
    return ProgrammeOut(**values)


def cycle_out(c: Cycle, programme: Programme) -> dict[str, Any]:
    counts = c.counts or {}
    held = [HeldOut(reason=reason, label=_(vocab.HOLD_REASONS.get(reason, reason)), households=int(n))
            for reason, n in (counts.get("held") or {}).items()]
    return dict(id=c.id, programme=programme.code, number=c.number, period=period_label(c),
                period_start=c.period_start, period_end=c.period_end, state=c.state,
                state_label=states.state_label("cycle", c.state), version=c.version,
                households=int(counts.get("households", 0)), due=int(counts.get("due", 0)), held=held,
                held_total=int(counts.get("held_total", 0)), reissued=int(counts.get("reissued", 0)),
                reissued_amount=int(counts.get("reissued_amount", 0)), total_due=int(c.total_due or 0),
                prepared_at=c.prepared_at, approved_at=c.approved_at, sent_at=c.sent_at, reconciled_at=c.reconciled_at,
                closed_at=c.closed_at)


def transition_out(t: Transition) -> TransitionOut:
    return TransitionOut(at=t.at, by=t.by_name, from_state=t.from_state, to_state=t.to_state, reason=t.reason,
                         detail=t.detail)


def cycle_detail_out(view: CycleView) -> CycleDetailOut:
    payments = [StateTotalOut(state=state, label=states.state_label("payment", state), lines=n, amount=amount)
                for state in vocab.PAYMENT_STATES if state in view.payments
                for n, amount in [view.payments[state]]]
    return CycleDetailOut(**cycle_out(view.cycle, view.programme), prepared_by=view.prepared_by,
                          approved_by=view.approved_by, payments=payments,
                          history=[transition_out(t) for t in view.transitions])


def payment_out(line: Line) -> PaymentOut:
    return PaymentOut(reference=line.reference, household_code=line.household_code, state=line.state,
                      state_label=states.state_label("payment", line.state), hold_reason=line.hold_reason,
                      hold_reason_label=_(vocab.HOLD_REASONS[line.hold_reason])
                      if line.hold_reason in vocab.HOLD_REASONS else None,
                      amount=line.amount, amount_paid=line.amount_paid, paid_on=line.paid_on,
                      provider_status=line.provider_status, reissue_of=line.reissue_of)


def entitlement_out(e: Explanation, programme: Programme, payment: Payment | None = None) -> EntitlementOut:
    f = e.formula
    return EntitlementOut(
        household_code=e.household.code, programme=programme.code,
        formula=FormulaOut(id=f.id, version=f.version, title=f.title.get()),
        components=[ComponentOut(id=c.id, label=c.label, amount=c.amount, applies=c.applies, detail=c.detail)
                    for c in e.entitlement.components],
        total=e.entitlement.total, capped=e.entitlement.capped, amount=e.entitlement.amount,
        values={k: (v.isoformat() if isinstance(v, date) else v) for k, v in e.values.items()},
        payment=LineOut(reference=payment.reference, state=payment.state, hold_reason=payment.hold_reason,
                        amount=int(payment.amount)) if payment is not None else None)


def pdm_out(found: pdm.Indicators) -> PdmOut:
    def rate(name: str, label: str, r: pdm.Rate) -> RateOut:
        return RateOut(name=name, label=_(label), yes=r.yes, of=r.of, percent=r.percent)

    return PdmOut(cycle_id=found.cycle_id, cycle_number=found.cycle_number, programme=found.programme,
                  interviews=found.interviews, small=found.small,
                  indicators=[rate(*line) for line in found.rates()],
                  spending=[rate(*line) for line in found.spending_lines()], amount_received=found.amount_received)


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def coverage_row_out(row: coverage_.CoverageRow) -> CoverageRowOut:
    return CoverageRowOut(pcode=row.pcode, area=row.area, population_group=row.population_group,
                          households=row.households, enrolled=row.enrolled, assisted=row.assisted,
                          share_assisted=_share(row.share_assisted), household_months=row.household_months,
                          months_per_assisted=_share(row.months_per_assisted), amount_paid=row.amount_paid,
                          needs={name: NeedOut(households=n.households, uncovered=n.uncovered,
                                               share_uncovered=_share(n.share_uncovered))
                                 for name, n in row.needs.items()})


def coverage_out(found: coverage_.Coverage) -> CoverageOut:
    return CoverageOut(since=found.since, until=found.until, level=found.level,
                       rows=[coverage_row_out(r) for r in found.rows], total=coverage_row_out(found.total))


def continuity_out(c: coverage_.Continuity) -> ContinuityOut:
    return ContinuityOut(programme=c.code, name=c.name, ends_on=c.ends_on, enrolled=c.enrolled, rescored=c.rescored,
                         still_vulnerable=c.still_vulnerable, model=c.model, run_id=c.run_id)
