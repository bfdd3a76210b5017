"""Test helper: a generated world written the way practice-management systems export it.

Three shapes a data scientist is handed (header names, dates and money as such reports write
them): a claim-level report with a status and a reason text; a claim-line report with CARCs; a
claims report with a separate denials report. Each comes with the map that imports it, so tests
can compare what the import builds with the world's own tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from features.codes import initial_outcomes

#: How a PM system words each denial category on its denials report.
REASON_TEXT = {
    "eligibility": "Coverage terminated / not eligible",
    "authorization": "No prior authorization on file",
    "coding": "Procedure inconsistent with modifier",
    "medical_necessity": "Not medically necessary",
    "documentation": "Missing information - records requested",
    "timely_filing": "Past timely filing limit",
    "duplicate": "Duplicate claim",
    "coordination_of_benefits": "Other insurance primary",
    "non_covered": "Non-covered service",
    "bundling": "Bundled / inclusive service",
    "other": "Denied - see remit",
}


def _us(day: pd.Series) -> pd.Series:
    return day.dt.strftime("%m/%d/%Y").fillna("")


def _money(amount: pd.Series) -> pd.Series:
    return amount.map(lambda a: "" if pd.isna(a) else f"${a:,.2f}")


def _dotted(codes: pd.Series) -> pd.Series:
    def one(cell: str | None) -> str:
        if not isinstance(cell, str):
            return ""
        return ", ".join(c[:3] + ("." + c[3:] if len(c) > 3 else "") for c in cell.split("|"))

    return codes.map(one)


def _outcomes(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each claim's first-pass outcome with its CAS codes, as the world's 835s carry them."""
    first = initial_outcomes(tables["remits"], tables["remit_adjustments"]).set_index("claim_id")
    adj = tables["remit_adjustments"]
    adj = adj[adj["remit_id"].isin(first["remit_id"])]
    codes = (adj["group_code"] + "-" + adj["carc"]).groupby(adj["claim_id"]).agg(" ".join)
    first["codes"] = codes
    first["status"] = np.where(
        first["denied"], "Denied", np.where(first["paid_amount"] > 0, "Paid", "Adjusted")
    )
    return first


def _header(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The claim-header columns every shape shares, export-style."""
    c = tables["claims"]
    names = tables["payers"].set_index("payer_id")["name"]
    return pd.DataFrame(
        {
            "Patient Acct #": c["patient_id"],
            "DOS": _us(c["service_date_from"]),
            "DOS To": _us(c["service_date_to"]),
            "Date Billed": _us(c["submission_date"]),
            "Payer": c["payer_id"].map(names),
            "Billing NPI": c["billing_npi"],
            "Rendering NPI": c["rendering_npi"].fillna(""),
            "Taxonomy": c["provider_taxonomy"],
            "Claim Type": c["claim_type"].str.title(),
            "POS": c["place_of_service"],
            "Freq": c["frequency_code"],
            "Orig Claim #": c["original_claim_id"].fillna(""),
            "Diagnosis": _dotted(c["diagnosis_codes"]),
            "Age": c["patient_age"].astype(str),
            "Sex": c["patient_sex"].map({"F": "Female", "M": "Male", "U": "Unknown"}),
            "Auth #": c["prior_auth_number"].fillna(""),
            "Elig Checked": _us(c["eligibility_verified_date"]),
            "Other Ins": np.where(c["other_coverage"], "Y", "N"),
        }
    )


HEADER_MAP = """
  patient_id: "Patient Acct #"
  service_date_from: DOS
  service_date_to: DOS To
  submission_date: Date Billed
  payer_id: Payer
  billing_npi: Billing NPI
  rendering_npi: Rendering NPI
  provider_taxonomy: Taxonomy
  claim_type: Claim Type
  place_of_service: POS
  frequency_code: Freq
  original_claim_id: "Orig Claim #"
  diagnosis_codes: Diagnosis
  patient_age: Age
  patient_sex: Sex
  prior_auth_number: "Auth #"
  eligibility_verified_date: Elig Checked
  other_coverage: Other Ins
"""


def _payers_map(tables: dict[str, pd.DataFrame]) -> str:
    rows = [
        f'  "{p.name}": {{payer_id: {p.payer_id}, payer_type: {p.payer_type}, '
        f"timely_filing_days: {p.timely_filing_days}, appeal_window_days: {p.appeal_window_days}}}"
        for p in tables["payers"].itertuples()
    ]
    return "payers:\n" + "\n".join(rows) + "\n"


def line_level(tables: dict[str, pd.DataFrame], out: Path) -> tuple[list[Path], str]:
    """A claim-line report: a row per service line, the claim's status and CARCs on each."""
    lines = tables["claim_lines"]
    header = _header(tables).assign(claim_id=tables["claims"]["claim_id"])
    outcome = _outcomes(tables)
    rows = lines.merge(header, on="claim_id", how="left")
    total = rows.groupby("claim_id")["line_charge"].transform("sum")
    paid = (
        rows["claim_id"].map(outcome["paid_amount"]) * rows["line_charge"] / total.where(total > 0)
    )
    frame = pd.DataFrame(
        {
            "Claim Number": rows["claim_id"],
            "Line #": rows["line_number"].astype(str),
            **{k: rows[k] for k in header.columns if k != "claim_id"},
            "CPT": rows["procedure_code"].fillna(""),
            "Rev Code": rows["revenue_code"].fillna(""),
            "Mod 1": rows["modifier_1"].fillna(""),
            "Mod 2": rows["modifier_2"].fillna(""),
            "Mod 3": rows["modifier_3"].fillna(""),
            "Mod 4": rows["modifier_4"].fillna(""),
            "Units": rows["units"].map("{:g}".format),
            "Dx Ptr": rows["diagnosis_pointers"].fillna(""),
            "Line Charge": _money(rows["line_charge"]),
            "Claim Status": rows["claim_id"].map(outcome["status"]).fillna("Open"),
            "Adj Codes": rows["claim_id"].map(outcome["codes"]).fillna(""),
            "Line Paid": _money(paid.fillna(0).where(rows["claim_id"].isin(outcome.index))),
            "Remit Date": _us(rows["claim_id"].map(outcome["remit_date"])),
        }
    )
    path = out / "claim_lines_report.csv"
    frame.to_csv(path, index=False)
    cmap = f"""version: 1
level: line
columns:
  claim_id: Claim Number
  line_number: "Line #"
{HEADER_MAP}  procedure_code: CPT
  revenue_code: Rev Code
  modifier_1: Mod 1
  modifier_2: Mod 2
  modifier_3: Mod 3
  modifier_4: Mod 4
  units: Units
  diagnosis_pointers: Dx Ptr
  line_charge: Line Charge
outcome:
  status: Claim Status
  values: {{Paid: paid, Denied: denied, Adjusted: partially_paid, Open: pending}}
  paid_amount: Line Paid
  decision_date: Remit Date
  carc: Adj Codes
dates:
  format: "%m/%d/%Y"
{_payers_map(tables)}"""
    return [path], cmap


def claim_level(tables: dict[str, pd.DataFrame], out: Path) -> tuple[list[Path], str]:
    """A claim report: one row per claim, its procedure codes listed, a status and a reason."""
    claims, outcome = tables["claims"], _outcomes(tables)
    codes = (
        tables["claim_lines"]
        .groupby("claim_id")["procedure_code"]
        .agg(lambda c: ", ".join(x for x in c if isinstance(x, str)))
    )
    cat = claims["claim_id"].map(outcome["denial_category"])
    frame = pd.DataFrame(
        {
            "Claim #": claims["claim_id"],
            **_header(tables).drop(columns=["Elig Checked"]),
            "CPT": claims["claim_id"].map(codes).fillna(""),
            "Billed": _money(claims["total_charge"]),
            "Status": claims["claim_id"].map(outcome["status"]).fillna("Open"),
            "Denial Reason": cat.map(REASON_TEXT).fillna(""),
            "Paid": _money(claims["claim_id"].map(outcome["paid_amount"])),
            "Remit Date": _us(claims["claim_id"].map(outcome["remit_date"])),
        }
    )
    path = out / "claims_report.csv"
    frame.to_csv(path, index=False)
    header_map = HEADER_MAP.replace("  eligibility_verified_date: Elig Checked\n", "")
    reasons = "\n".join(f'  "{t}": {c}' for c, t in REASON_TEXT.items())
    cmap = f"""version: 1
level: claim
columns:
  claim_id: "Claim #"
{header_map}  procedure_code: CPT
  total_charge: Billed
defaults:
  units: 1
outcome:
  status: Status
  values: {{Paid: paid, Denied: denied, Adjusted: partially_paid, Open: pending}}
  paid_amount: Paid
  decision_date: Remit Date
  reason: Denial Reason
reasons:
{reasons}
{_payers_map(tables)}"""
    return [path], cmap


def with_denials_file(tables: dict[str, pd.DataFrame], out: Path) -> tuple[list[Path], str]:
    """A claims report (month-only service dates, no status) and a denials report beside it."""
    claims, outcome = tables["claims"], _outcomes(tables)
    decided = claims[claims["claim_id"].isin(outcome.index)]
    frame = pd.DataFrame(
        {
            "Claim ID": decided["claim_id"],
            "Service Month": decided["service_date_from"].dt.strftime("%Y-%m"),
            "Billed On": _us(decided["submission_date"]),
            "Insurance": decided["payer_id"],
            "Charges": decided["total_charge"].map("{:,.2f}".format),
            "Paid": _money(decided["claim_id"].map(outcome["paid_amount"])),
        }
    )
    denied = outcome[outcome["denied"]]
    denials = pd.DataFrame(
        {
            "Claim No": denied.index,
            "Denial Date": _us(denied["remit_date"]),
            "CARC": denied["codes"].str.replace(" ", ";"),
        }
    )
    paths = [out / "claims.csv", out / "denials.csv"]
    frame.to_csv(paths[0], index=False)
    denials.to_csv(paths[1], index=False)
    cmap = """version: 1
level: claim
columns:
  claim_id: Claim ID
  service_date_from: Service Month
  submission_date: Billed On
  payer_id: Insurance
  total_charge: Charges
defaults:
  claim_type: professional
  frequency_code: "1"
  units: 1
dates:
  formats:
    Service Month: "%Y-%m"
    Billed On: "%m/%d/%Y"
    Denial Date: "%m/%d/%Y"
outcome:
  paid_amount: Paid
denials:
  file: denials.csv
  key: Claim No
  columns:
    carc: CARC
    decision_date: Denial Date
"""
    return paths, cmap
