"""The assessment inputs: WFP's standard variable names, what each accepts, and its label.

Names follow WFP's VAM conventions (Survey Designer / RAM standardized scripts,
github.com/WFP-VAM/RAMResourcesScripts): FCS*, rCSI*, HHS*, HDDS*, Lcs_<level>_*, HHExp*,
HHIncFirst_SRi, HHDebt_Est, HHSize. Where WFP has no standard name (monthly debt repayment,
other expenditure, rent arrears, dependants, rooms) a name in the same style is used; docs/TARGETING.md
says which. Labels are English msgids, translated where they are shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from jatigi.core.i18n import N_
from jatigi.registry import vocab
from jatigi.targeting.fields import Field

Module = Literal["fcs", "rcsi", "hhs", "hdds", "lcs", "expenditure", "income", "debt", "household", "disability"]
# days: 0-7; yesno: 0/1; frequency: HHS 1-3; lcs: 10/20/30/9999; money: FCFA 0 to MAX_FCFA; count: whole number
# in [minimum, maximum]; code: one of `choices`.
InputKind = Literal["days", "yesno", "frequency", "lcs", "money", "count", "code"]

MODULES: dict[str, str] = {
    "fcs": N_("Food consumption (FCS)"),
    "rcsi": N_("Reduced coping strategies (rCSI)"),
    "hhs": N_("Household hunger scale (HHS)"),
    "hdds": N_("Household dietary diversity (HDDS)"),
    "lcs": N_("Livelihood coping strategies (LCS)"),
    "expenditure": N_("Monthly expenditure"),
    "income": N_("Income sources"),
    "debt": N_("Debts and rent arrears"),
    "household": N_("Household size and dwelling"),
    "disability": N_("Disability (Washington Group)"),
}


@dataclass(frozen=True)
class InputVar:
    name: str
    module: Module
    kind: InputKind
    label: str
    minimum: float | None = None
    maximum: float | None = None
    choices: dict[int, str] | None = None


# Answers to a livelihood coping strategy (WFP LCS-FS / LCS-EN codes).
LCS_NO, LCS_EXHAUSTED, LCS_YES, LCS_NOT_APPLICABLE = 10, 20, 30, 9999
LCS_ANSWERS = {
    LCS_NO: N_("No, because we did not need to"),
    LCS_EXHAUSTED: N_("No, because we already did it and cannot continue (exhausted)"),
    LCS_YES: N_("Yes"),
    LCS_NOT_APPLICABLE: N_("Not applicable"),
}
HHS_FREQUENCIES = {1: N_("Rarely (1-2 times)"), 2: N_("Sometimes (3-10 times)"), 3: N_("Often (more than 10 times)")}
YES_NO = {0: N_("No"), 1: N_("Yes")}
# WFP's list for the main income source (HHIncFirst_SRi), as in its CARI scripts; 0 as used by
# country offices when the household has no income source.
INCOME_SOURCES = {
    0: N_("No income source"),
    1: N_("Wage labour - professional"),
    2: N_("Wage labour - skilled"),
    3: N_("Wage labour - unskilled, casual, agriculture"),
    4: N_("Wage labour - unskilled, casual, non-agriculture"),
    5: N_("Pension"),
    6: N_("Remittances"),
    7: N_("Aid, gifts"),
    8: N_("Borrowing money, living off debt"),
    9: N_("High-risk activity (begging, scavenging)"),
    10: N_("Savings, selling assets"),
    11: N_("Petty trade, selling on the street"),
    12: N_("Small trade (own business)"),
    13: N_("Medium or large trade (own business)"),
    14: N_("Small agriculture or livestock production (own)"),
    15: N_("Medium or large agriculture or livestock production (own)"),
    999: N_("Other"),
}


def _days(name: str, module: Module, label: str) -> InputVar:
    return InputVar(name, module, "days", label, 0, 7)


# No household spends, owes or earns a thousand billion FCFA: more is a typing slip (and would not
# fit the database's integers).
MAX_FCFA = 10**12


def _money(name: str, module: Module, label: str) -> InputVar:
    return InputVar(name, module, "money", label, 0, MAX_FCFA)


FCS_WEIGHTS = {"FCSStap": 2.0, "FCSPulse": 3.0, "FCSDairy": 4.0, "FCSPr": 4.0, "FCSVeg": 1.0, "FCSFruit": 1.0,
               "FCSFat": 0.5, "FCSSugar": 0.5}
RCSI_WEIGHTS = {"rCSILessQlty": 1, "rCSIBorrow": 2, "rCSIMealSize": 1, "rCSIMealAdult": 3, "rCSIMealNb": 1}
# (yes/no question, its frequency) for each of the three HHS questions (WFP names).
HHS_QUESTIONS = (("HHSNoFood", "HHSNoFood_FR"), ("HHSBedHung", "HHSBedHung_FR"), ("HHSNotEat", "HHSNotEat_FR"))
HDDS_GROUPS = ("HDDSStapCer", "HDDSStapRoot", "HDDSVeg", "HDDSFruit", "HDDSPrMeat", "HDDSPrEgg", "HDDSPrFish",
               "HDDSPulse", "HDDSDairy", "HDDSFat", "HDDSSugar", "HDDSCond")
FOOD_EXPENDITURE = "HHExp_Food_Purch_MN_1M"
# Non-food consumption expenditure: counted in the food expenditure share and the economic capacity.
NON_FOOD_EXPENDITURE = ("HHExpNFRent_Purch_MN_1M", "HHExpNFMedServ_Purch_MN_1M", "HHExpNFEduFee_Purch_MN_1M",
                        "HHExpNFWat_Purch_MN_1M", "HHExpNFEnerg_Purch_MN_1M", "HHExpNFTransp_Purch_MN_1M",
                        "HHExpNFPhone_Purch_MN_1M", "HHExpNFOther_Purch_MN_1M")
# Repaying a debt is not consumption: recorded, left out of the share and the economic capacity (as ECMEN).
DEBT_REPAYMENT = "HHExpNFDebt_Purch_MN_1M"
WG_DOMAINS = tuple(f"wg_{domain}" for domain in vocab.WG_DOMAINS)

INPUTS: tuple[InputVar, ...] = (
    _days("FCSStap", "fcs", N_("Days eating cereals, grains, roots or tubers (last 7 days)")),
    _days("FCSPulse", "fcs", N_("Days eating pulses, nuts or seeds (last 7 days)")),
    _days("FCSDairy", "fcs", N_("Days eating milk or dairy products (last 7 days)")),
    _days("FCSPr", "fcs", N_("Days eating meat, fish or eggs (last 7 days)")),
    _days("FCSVeg", "fcs", N_("Days eating vegetables or leaves (last 7 days)")),
    _days("FCSFruit", "fcs", N_("Days eating fruit (last 7 days)")),
    _days("FCSFat", "fcs", N_("Days eating oil, fat or butter (last 7 days)")),
    _days("FCSSugar", "fcs", N_("Days eating sugar or sweets (last 7 days)")),
    _days("FCSCond", "fcs", N_("Days eating condiments or spices (last 7 days)")),
    _days("rCSILessQlty", "rcsi", N_("Days relying on less preferred, less expensive food (last 7 days)")),
    _days("rCSIBorrow", "rcsi", N_("Days borrowing food or relying on help from others (last 7 days)")),
    _days("rCSIMealSize", "rcsi", N_("Days limiting portion size at meals (last 7 days)")),
    _days("rCSIMealAdult", "rcsi", N_("Days adults ate less so that children could eat (last 7 days)")),
    _days("rCSIMealNb", "rcsi", N_("Days reducing the number of meals (last 7 days)")),
    InputVar("HHSNoFood", "hhs", "yesno", N_("No food of any kind in the house (last 4 weeks)"), choices=YES_NO),
    InputVar("HHSNoFood_FR", "hhs", "frequency", N_("How often there was no food in the house"),
             choices=HHS_FREQUENCIES),
    InputVar("HHSBedHung", "hhs", "yesno", N_("Someone went to sleep hungry (last 4 weeks)"), choices=YES_NO),
    InputVar("HHSBedHung_FR", "hhs", "frequency", N_("How often someone went to sleep hungry"),
             choices=HHS_FREQUENCIES),
    InputVar("HHSNotEat", "hhs", "yesno", N_("Someone went a whole day and night without eating (last 4 weeks)"),
             choices=YES_NO),
    InputVar("HHSNotEat_FR", "hhs", "frequency", N_("How often someone went a whole day and night without eating"),
             choices=HHS_FREQUENCIES),
    *(InputVar(name, "hdds", "yesno", label, choices=YES_NO) for name, label in (
        ("HDDSStapCer", N_("Ate cereals (last 24 hours)")),
        ("HDDSStapRoot", N_("Ate white roots or tubers (last 24 hours)")),
        ("HDDSVeg", N_("Ate vegetables (last 24 hours)")),
        ("HDDSFruit", N_("Ate fruit (last 24 hours)")),
        ("HDDSPrMeat", N_("Ate meat (last 24 hours)")),
        ("HDDSPrEgg", N_("Ate eggs (last 24 hours)")),
        ("HDDSPrFish", N_("Ate fish or seafood (last 24 hours)")),
        ("HDDSPulse", N_("Ate pulses, nuts or seeds (last 24 hours)")),
        ("HDDSDairy", N_("Ate milk or dairy products (last 24 hours)")),
        ("HDDSFat", N_("Ate oil or fat (last 24 hours)")),
        ("HDDSSugar", N_("Ate sugar or sweets (last 24 hours)")),
        ("HDDSCond", N_("Ate condiments, spices or drinks (last 24 hours)")),
    )),
    *(InputVar(name, "lcs", "lcs", label, choices=LCS_ANSWERS) for name, label in (
        ("Lcs_stress_DomAsset", N_("Sold household assets (radio, furniture, jewellery...)")),
        ("Lcs_stress_Saving", N_("Spent savings")),
        ("Lcs_stress_BorrowCash", N_("Borrowed money")),
        ("Lcs_stress_CrdtFood", N_("Bought food on credit")),
        ("Lcs_stress_Utilities", N_("Reduced or stopped paying for essential services and bills")),
        ("Lcs_stress_EatOut", N_("Sent household members to eat elsewhere")),
        ("Lcs_crisis_ProdAssets", N_("Sold productive assets or means of transport")),
        ("Lcs_crisis_Health", N_("Reduced spending on health, including medicines")),
        ("Lcs_crisis_OutSchool", N_("Withdrew children from school")),
        ("Lcs_crisis_Housing", N_("Moved to cheaper housing")),
        ("Lcs_crisis_ChildWork", N_("Sent children to work")),
        ("Lcs_em_ResAsset", N_("Sold the house or land")),
        ("Lcs_em_Begged", N_("Begged")),
        ("Lcs_em_IllegalAct", N_("Engaged in high-risk, degrading or illegal work")),
        ("Lcs_em_Marriage", N_("Married off a child to reduce expenses or gain resources")),
        ("Lcs_em_FemAnimal", N_("Sold the last female animals")),
    )),
    _money(FOOD_EXPENDITURE, "expenditure", N_("Food expenditure, last month (FCFA)")),
    _money("HHExpNFRent_Purch_MN_1M", "expenditure", N_("Rent, last month (FCFA)")),
    _money("HHExpNFMedServ_Purch_MN_1M", "expenditure", N_("Health, services and medicines, last month (FCFA)")),
    _money("HHExpNFEduFee_Purch_MN_1M", "expenditure", N_("Education, last month (FCFA)")),
    _money("HHExpNFWat_Purch_MN_1M", "expenditure", N_("Water, last month (FCFA)")),
    _money("HHExpNFEnerg_Purch_MN_1M", "expenditure", N_("Energy, fuel and electricity, last month (FCFA)")),
    _money("HHExpNFTransp_Purch_MN_1M", "expenditure", N_("Transport, last month (FCFA)")),
    _money("HHExpNFPhone_Purch_MN_1M", "expenditure", N_("Communication, last month (FCFA)")),
    _money(DEBT_REPAYMENT, "expenditure", N_("Debt repayment, last month (FCFA)")),
    _money("HHExpNFOther_Purch_MN_1M", "expenditure", N_("Other expenditure, last month (FCFA)")),
    InputVar("HHIncFirst_SRi", "income", "code", N_("Main income source"), choices=INCOME_SOURCES),
    InputVar("HHIncNb", "income", "count", N_("Number of income sources"), 0, 20),
    _money("HHDebt_Est", "debt", N_("Total outstanding debt (FCFA)")),
    _money("HHRentArrears_Est", "debt", N_("Rent arrears (FCFA)")),
    InputVar("HHSize", "household", "count", N_("Household size"), 1, 100),
    InputVar("HHDependents", "household", "count", N_("Members under 18 or aged 60 and over"), 0, 100),
    InputVar("HHWorkingAge", "household", "count", N_("Members aged 18 to 59"), 0, 100),
    InputVar("HHRooms", "household", "count", N_("Rooms the household lives in"), 0, 100),
    *(InputVar(f"wg_{domain}", "disability", "code", label, choices=dict(vocab.WG_LEVELS))
      for domain, label in vocab.WG_DOMAINS.items()),
)
BY_NAME: dict[str, InputVar] = {v.name: v for v in INPUTS}

# Other spellings met in survey files: the HHhS* names of WFP's West Africa (RBD) questionnaires.
ALIASES: dict[str, str] = {
    "hhhsnofood": "HHSNoFood", "hhhsnofood_fr": "HHSNoFood_FR", "hhhsbedhung": "HHSBedHung",
    "hhhsbedhung_fr": "HHSBedHung_FR", "hhhsnoteat": "HHSNotEat", "hhhsnoteat_fr": "HHSNotEat_FR",
}
# Any WFP coping strategy a country office chose: Lcs_stress_*, LcsEN_crisis_*, LcsR_em_* ...
LCS_PATTERN = re.compile(r"^Lcs(?:EN|FS|R)?_(stress|crisis|em)_\w+$", re.IGNORECASE)
LCS_LEVELS = {"stress": "stress", "crisis": "crisis", "em": "emergency"}


def lcs_level(name: str) -> str | None:
    """"stress", "crisis" or "emergency" for a livelihood coping strategy's name, else None."""
    match = LCS_PATTERN.match(name)
    return LCS_LEVELS[match.group(1).lower()] if match else None


def lookup(header: str) -> InputVar | None:
    """The input a column header names, matched without regard to case; None for other columns."""
    key = header.strip().lower()
    name = ALIASES.get(key) or next((n for n in BY_NAME if n.lower() == key), None)
    if name:
        return BY_NAME[name]
    if lcs_level(header.strip()):
        return InputVar(header.strip(), "lcs", "lcs", N_("Livelihood coping strategy"), choices=LCS_ANSWERS)
    return None


def accepted(var: InputVar) -> str:
    """What the input accepts, as an untranslated pattern for messages: '0 to 7', '10, 20, 30, 9999'."""
    if var.choices is not None:
        return ", ".join(str(code) for code in var.choices)
    if var.maximum is None:
        return f">= {var.minimum:g}"
    return f"{var.minimum:g}-{var.maximum:g}"


def assessment_fields(names: Iterable[str] | None = None) -> list[Field]:
    """The inputs as model fields (source "assessment"), all of them or those named."""
    chosen = [BY_NAME[n] for n in names] if names is not None else list(INPUTS)
    return [Field(v.name, "boolean" if v.kind == "yesno" else "number", "assessment", v.label) for v in chosen]
