"""A flat export + its column map → contract tables, every cell accounted for.

``import_flat`` reads the claims (or claim-line) report and, when the map names one, the
denials report; parses each mapped column (``features.flat.values``); builds payers, claims and
lines; and writes each claim's outcome as one remit with its adjustments, so that the one
denial rule (``features.codes.label_remits``) reads it exactly as it reads an 835:

- **denied**: nothing paid, a CO adjustment per reason code for the unpaid charge (a reason text
  mapped to a category takes that category's usual CARC, ``codes.CATEGORY_CARC``; no reason at
  all is CO-A1, "claim denied", and counted);
- **paid** / **partially paid**: what was paid, the rest a CO-45 contractual write-down (or the
  export's own codes);
- **pending**: no remit: the claim is unlabelled, as it is in an 835 world before the payer
  answers.

Every such remit says ``origin = import``: no payer sent it. A value that cannot be read is an
error naming the file, line, column and value; nothing is dropped or guessed without a count in
the report.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from features.codes import CATEGORY_CARC
from features.contract import DATE_DTYPE, TABLES
from features.flat import values as v
from features.flat.mapping import CLAIM_FIELDS, LINE_FIELDS, ColumnMap, PayerInfo, Reason
from features.flat.read import FILE, LINE, read_exports, require_headers
from features.validate import MAX_EXAMPLES, Problem, Report, validate_frames

#: Days from submission to the payer's decision when the export has no decision date: a
#: typical clean-claim adjudication time. Only history's timing depends on it; it is reported.
DEFAULT_DECISION_LAG_DAYS = 30
_DATES = {f.name for t in ("claims", "claim_lines") for f in TABLES[t].fields if f.kind == "date"}
_DATES |= {"patient_birth_date"}
_MONEY = {"total_charge", "line_charge"}
_NUMBERS = {"units", "line_number", "patient_age"}
_CODES = {
    "procedure_code", "modifier_1", "modifier_2", "modifier_3", "modifier_4", "place_of_service",
    "billing_npi", "rendering_npi", "provider_taxonomy", "revenue_code", "frequency_code",
}  # fmt: skip


@dataclass
class Imported:
    """The contract tables an import built, what was wrong, and what it assumed."""

    tables: dict[str, pd.DataFrame]
    report: Report
    notes: list[str] = field(default_factory=list)
    extras: dict[str, str] = field(default_factory=dict)  # x_name → type
    unmatched_denials: pd.DataFrame | None = None


class _Problems:
    """Collects problems against the export's own file, line and column names."""

    def __init__(self, report: Report, what: str):
        self.report, self.what = report, what

    def flag(self, rows: pd.DataFrame, mask: pd.Series, header: str, rule: str, msg: str) -> None:
        bad = rows[mask.to_numpy()]
        if bad.empty:
            return
        shown = [
            f"{r[FILE]} line {r[LINE]}: {r[header]!r}" if header in bad.columns
            else f"{r[FILE]} line {r[LINE]}"
            for _, r in bad.head(MAX_EXAMPLES).iterrows()
        ]  # fmt: skip
        files = ", ".join(sorted(set(bad[FILE])))
        self.report.problems.append(
            Problem("error", self.what, files, header, rule, msg, len(bad), tuple(shown))
        )

    def error(self, header: str, rule: str, msg: str) -> None:
        self.report.problems.append(Problem("error", self.what, self.what, header, rule, msg))


def import_flat(paths: list[Path], cmap: ColumnMap) -> Imported:
    """Build contract tables from flat export files with ``cmap`` (see the module docstring)."""
    report, notes = Report(), []
    denial_paths = [p for p in paths if cmap.denials and p.name == cmap.denials.file]
    claim_paths = [p for p in paths if p not in denial_paths]
    if cmap.denials and not denial_paths:
        raise FileNotFoundError(
            f"map denials.file: {cmap.denials.file!r} is not among the files given; pass it too"
        )
    rows = read_exports(claim_paths)
    headers = {f"columns.{k}": h for k, h in cmap.columns.items()}
    headers |= {f"outcome.{k}": h for k, h in cmap.outcome.items()}
    headers |= {f"extras.{k}": h for k, (h, _) in cmap.extras.items()}
    require_headers(rows, headers, "the claims file")
    problems = _Problems(report, "claims file")
    parsed = _parse_columns(rows, cmap, problems, notes)
    _apply_defaults(parsed, cmap, problems, notes)
    report.rows_read = {"claims file": len(rows)}
    # with a denials report and no status column, a claim the denials do not name was paid
    otherwise = "paid" if cmap.denials and "status" not in cmap.outcome else None
    events = _events(rows, parsed["claim_id"], cmap.outcome, cmap, problems, default=otherwise)
    if not report.ok:  # the tables would be built from values that are not there
        return Imported({}, report, notes)
    payers = _payers(parsed, cmap)  # before the claims: it turns payer names into ids
    claims, lines = _claims_and_lines(parsed, rows, cmap, problems)
    unmatched = None
    if cmap.denials:
        denials, unmatched = _denial_events(denial_paths, cmap, set(claims["claim_id"]), report)
        events = _combine(events, denials)
    if not report.ok:
        return Imported({}, report, notes)
    remits, adjustments = _remits(claims, events, cmap, problems, notes)
    tables = {
        "payers": payers,
        "claims": claims[[*TABLES["claims"].columns, *cmap.extras]],
        "claim_lines": lines,
        "remits": remits,
        "remit_adjustments": adjustments,
    }
    extras = {name: kind for name, (_, kind) in cmap.extras.items()}
    if report.ok:
        _, _, checked = validate_frames(tables)
        report.problems += [p for p in checked.problems if p.rule != "absent_table"]
        report.rows_read = checked.rows_read
    return Imported(tables, report, notes, extras, unmatched)


# --- columns -----------------------------------------------------------------------------------


def _parse_columns(
    rows: pd.DataFrame, cmap: ColumnMap, problems: _Problems, notes: list[str]
) -> pd.DataFrame:
    """Each mapped column parsed into its contract field's type, row for row."""
    out = pd.DataFrame(index=rows.index)
    for name, header in cmap.columns.items():
        text = rows[header]
        if name in _DATES:
            values, bad, month = v.dates(text, cmap.formats(header))
            if month.any():
                notes.append(
                    f"{int(month.sum()):,} dates in {header!r} give only a month: read as its "
                    "first day"
                )
            expected = "a date in " + " or ".join(cmap.formats(header))
        elif name in _MONEY:
            (values, bad), expected = v.money(text), "an amount such as $1,234.50"
        elif name in _NUMBERS:
            (values, bad), expected = v.number(text), "a number"
            if name != "units":
                bad |= values.notna() & (values != values.round())
                values, expected = values.where(~bad), "a whole number"
        elif name == "other_coverage":
            (values, bad), expected = v.flags(text), "yes or no"
        elif name == "patient_sex":
            (values, bad), expected = v.sexes(text), "F, M or U (Female, Male, Unknown)"
        elif name == "diagnosis_codes":
            values, bad, expected = v.diagnoses(text), None, ""
        elif name in _CODES:
            values, bad, expected = v.codes(text), None, ""
        elif name == "claim_type":
            values, bad, expected = v.identifiers(text).str.lower(), None, ""
        else:
            values, bad, expected = v.identifiers(text), None, ""
        if bad is not None:
            problems.flag(rows, bad, header, "type", f"not {expected} (map columns.{name}).")
        out[name] = values
    for name, (header, kind) in cmap.extras.items():
        reader = {"bool": v.flags, "float": v.number}.get(kind)
        if reader is None:
            out[name] = v.identifiers(rows[header])
            continue
        values, bad = reader(rows[header])
        problems.flag(rows, bad, header, "type", f"not a {kind} (map extras.{name}).")
        out[name] = values
    return out


_DEFAULT_HINT = {
    "submission_date": ", or set defaults.submission_lag_days to use a proxy",
    "claim_type": ", or set defaults.claim_type: professional",
    "frequency_code": ", or set defaults.frequency_code: '1' (originals)",
}


def _apply_defaults(
    parsed: pd.DataFrame, cmap: ColumnMap, problems: _Problems, notes: list[str]
) -> None:
    """Constants for fields the export lacks, and the proxies the map allows (documented)."""
    d = cmap.defaults
    for name in ("claim_type", "frequency_code", "place_of_service", "units"):
        if name not in parsed and name in d:
            parsed[name] = d[name]
    for one, other in (
        ("service_date_to", "service_date_from"),
        ("service_date_from", "service_date_to"),
    ):
        if one not in parsed and other in parsed:
            parsed[one] = parsed[other]
    if (
        "submission_date" not in parsed
        and "submission_lag_days" in d
        and "service_date_to" in parsed
    ):
        parsed["submission_date"] = parsed["service_date_to"] + pd.Timedelta(
            days=int(d["submission_lag_days"])
        )
        notes.append(
            f"no submission date: each claim's is its last service day + "
            f"{d['submission_lag_days']} days (defaults.submission_lag_days)"
        )
    if "patient_birth_date" in parsed:
        if "patient_age" not in parsed and "service_date_from" in parsed:
            parsed["patient_age"] = v.years_between(
                parsed["patient_birth_date"], parsed["service_date_from"]
            )
        del parsed["patient_birth_date"]
    for name in ("service_date_from", "submission_date", "claim_type", "frequency_code"):
        if name not in parsed:
            problems.error(
                name,
                "missing_column",
                f"nothing gives {name} ({TABLES['claims'].field(name).description}); map a "
                f"column to it under columns:{_DEFAULT_HINT.get(name, '')}",
            )


def _claims_and_lines(
    parsed: pd.DataFrame, rows: pd.DataFrame, cmap: ColumnMap, problems: _Problems
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One claim per claim number (header fields must agree across its rows) and its lines."""
    frame = parsed.copy()
    frame[FILE], frame[LINE] = rows[FILE], rows[LINE]
    if cmap.level == "claim":
        frame = _split_procedures(frame)
    keep = [c for c in (*CLAIM_FIELDS, *cmap.extras) if c in frame and c != "total_charge"]
    if cmap.level == "line":
        _check_agreement(frame, rows, keep, cmap, problems)
    if "line_number" not in frame or cmap.level == "claim":
        frame["line_number"] = frame.groupby("claim_id", sort=False).cumcount() + 1
    if "line_charge" not in frame and "total_charge" in frame:
        frame["line_charge"] = frame["total_charge"]
    lines = _as_contract(frame, "claim_lines")
    first = frame.drop_duplicates("claim_id")
    claims = _as_contract(first, "claims").drop(columns="total_charge")
    for name in cmap.extras:
        claims[name] = first[name].to_numpy()
    totals = frame.groupby("claim_id", sort=False)["line_charge"].sum(min_count=1)
    if cmap.level == "line" or "total_charge" not in frame:
        claims["total_charge"] = claims["claim_id"].map(totals).round(2)
    else:
        claims["total_charge"] = first["total_charge"].to_numpy()
    return claims.reset_index(drop=True), lines.reset_index(drop=True)


#: The dtype a parsed column is stored in: nullable, since unknown is a value.
_STORED = {"int": "Int64", "bool": "boolean", "float": "float64", "date": DATE_DTYPE}


def _as_contract(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """``frame``'s columns of a contract table in the field's stored type; an absent one is
    empty (an empty modifier column is text, not a column of NaN floats)."""
    out = pd.DataFrame(index=frame.index)
    for f in TABLES[table].fields:
        column = frame[f.name] if f.name in frame else pd.Series(None, index=frame.index)
        out[f.name] = column.astype(_STORED.get(f.kind, object))
    return out


def _split_procedures(frame: pd.DataFrame) -> pd.DataFrame:
    """A claim-level row listing several codes (``99213, 97110``) → a line per code, the charge
    shared evenly (cents to the first line, so the lines balance the claim)."""
    if "procedure_code" not in frame:
        return frame
    codes = frame["procedure_code"].map(
        lambda c: (
            [p for p in re.split(r"[,;\s]+", c) if p] or [None] if isinstance(c, str) else [None]
        )
    )
    frame = frame.assign(procedure_code=codes, _n=codes.map(len)).explode("procedure_code")
    if "total_charge" in frame:
        share = np.floor(frame["total_charge"] / frame["_n"] * 100) / 100
        first = ~frame.index.duplicated()
        rest = frame["total_charge"] - share * (frame["_n"] - 1)
        frame["line_charge"] = np.where(first, rest.round(2), share)
    return frame.drop(columns="_n").reset_index(drop=True)


def _check_agreement(
    frame: pd.DataFrame,
    rows: pd.DataFrame,
    columns: list[str],
    cmap: ColumnMap,
    problems: _Problems,
) -> None:
    """On a line-level export, a claim's header fields must read the same on every line."""
    header_of = {**cmap.columns, **{k: h for k, (h, _) in cmap.extras.items()}}
    for name in columns:
        if name == "claim_id" or name in LINE_FIELDS:
            continue
        values = frame[name].astype(object).where(frame[name].notna(), "")
        differs = values.groupby(frame["claim_id"]).transform("nunique") > 1
        problems.flag(
            rows,
            differs.reindex(rows.index, fill_value=False),
            header_of.get(name, name),
            "claim_disagrees",
            "the lines of one claim give different values; a claim has one "
            f"{name}: correct the export or map a line-level column instead.",
        )


def _payers(parsed: pd.DataFrame, cmap: ColumnMap) -> pd.DataFrame:
    """The payers named in the export, as the map identifies them (else an id from the name)."""
    names = parsed["payer_id"].copy() if "payer_id" in parsed else pd.Series(dtype=object)
    seen: dict[str, dict] = {}
    ids = []
    for name in names.tolist():
        info = cmap.payers.get(str(name).strip().lower()) if name else None
        info = info or PayerInfo(payer_slug(name) if name else "UNKNOWN")
        ids.append(info.payer_id)
        if info.payer_id not in seen:
            seen[info.payer_id] = {
                "payer_id": info.payer_id,
                "name": name or info.payer_id,
                "payer_type": info.payer_type or cmap.defaults.get("payer_type"),
                "timely_filing_days": info.timely_filing_days
                or cmap.defaults.get("timely_filing_days"),
                "appeal_window_days": info.appeal_window_days
                or cmap.defaults.get("appeal_window_days"),
            }
    if len(names):
        parsed["payer_id"] = ids
    frame = pd.DataFrame(list(seen.values()), columns=TABLES["payers"].columns)
    for days in ("timely_filing_days", "appeal_window_days"):
        frame[days] = frame[days].astype("Int64")
    return frame


def payer_slug(name: str) -> str:
    """A payer id from a payer's name as written (``Blue Cross TX`` → ``BLUE-CROSS-TX``)."""
    slug = re.sub(r"[^0-9A-Za-z]+", "-", str(name)).strip("-").upper()
    return (slug or "PAYER")[:50]


# --- outcomes ----------------------------------------------------------------------------------


def _events(
    rows: pd.DataFrame,
    claim_ids: pd.Series,
    headers: dict[str, str],
    cmap: ColumnMap,
    problems: _Problems,
    default: str | None,
) -> pd.DataFrame:
    """Outcome facts of each row (claims or denials file), in one frame."""
    out = pd.DataFrame({"claim_id": claim_ids.to_numpy()}, index=rows.index)
    if "status" in headers:
        word = rows[headers["status"]].str.strip().str.lower()
        out["outcome"] = word.map(cmap.status_values)
        unknown = out["outcome"].isna() & (word != "")
        listed = ", ".join(sorted(set(rows.loc[unknown, headers["status"]].str.strip())))
        problems.flag(
            rows,
            unknown,
            headers["status"],
            "status_value",
            f"status words the map does not place ({listed}); add each under outcome.values "
            "as paid, denied, partially_paid or pending.",
        )
    else:
        out["outcome"] = default
    if "paid_amount" in headers:
        paid, bad = v.money(rows[headers["paid_amount"]])
        problems.flag(rows, bad, headers["paid_amount"], "type", "not an amount such as $12.50.")
        out["paid"] = paid
    if "decision_date" in headers:
        h = headers["decision_date"]
        decided, bad, _ = v.dates(rows[h], cmap.formats(h))
        problems.flag(rows, bad, h, "type", "not a date in " + " or ".join(cmap.formats(h)) + ".")
        out["decided"] = decided
    codes = v.adjustment_codes(rows[headers["carc"]]) if "carc" in headers else None
    out["codes"] = codes if codes is not None else [[] for _ in range(len(out))]
    if "reason" in headers:
        out["codes"] = out["codes"] + _reason_codes(rows, headers["reason"], cmap, problems)
    return out


def _reason_codes(
    rows: pd.DataFrame, header: str, cmap: ColumnMap, problems: _Problems
) -> pd.Series:
    """Reason texts → adjustment codes through the map's ``reasons``; an unplaced text is an
    error listing it, so that no denial loses its reason silently."""
    text = rows[header].str.strip()
    placed = text.str.lower().map(cmap.reasons)
    unknown = placed.isna() & ~v.blank(text)
    listed = "; ".join(f"{t!r}" for t in sorted(set(text[unknown]))[:10])
    problems.flag(
        rows,
        unknown,
        header,
        "reason_text",
        f"reason texts the map does not place ({listed}); add each under reasons: as a CARC "
        "(CO-197) or a category (authorization).",
    )
    return placed.map(
        lambda r: (
            [f"{r.group}-{r.carc or CATEGORY_CARC[r.category]}"] if isinstance(r, Reason) else []
        )
    )


def _denial_events(
    paths: list[Path], cmap: ColumnMap, known: set[str], report: Report
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The denials file's rows as outcome facts (denied unless its own status says otherwise);
    rows whose claim is not in the claims file are returned apart and counted."""
    assert cmap.denials is not None
    rows = read_exports(paths)
    spec = cmap.denials
    require_headers(
        rows,
        {"denials.key": spec.key} | {f"denials.columns.{k}": h for k, h in spec.columns.items()},
        "the denials file",
    )
    problems = _Problems(report, "denials file")
    ids = v.identifiers(rows[spec.key])
    events = _events(rows, ids, spec.columns, cmap, problems, default="denied")
    matched = ids.isin(known)
    if (~matched).any():
        report.problems.append(
            Problem(
                "warning",
                "denials file",
                ", ".join(sorted(set(rows[FILE]))),
                spec.key,
                "unmatched_denial",
                "denials whose claim is not in the claims file; they are left out of the "
                "tables and written to unmatched_denials.csv",
                int((~matched).sum()),
                tuple(f"{r[FILE]} line {r[LINE]}: {r[spec.key]!r}" for _, r in
                      rows[~matched].head(MAX_EXAMPLES).iterrows()),
            )
        )  # fmt: skip
    return events[matched.to_numpy()], rows[~matched.to_numpy()].drop(columns=[FILE, LINE])


def _combine(claim_events: pd.DataFrame, denial_events: pd.DataFrame) -> pd.DataFrame:
    """A claim in the denials file is decided by it; the claims file still gives the rest."""
    denied = set(denial_events["claim_id"])
    rest = claim_events[~claim_events["claim_id"].isin(denied)]
    carried = claim_events[claim_events["claim_id"].isin(denied)].drop_duplicates("claim_id")
    extra = denial_events.copy()
    for column in ("paid", "decided"):
        if column not in extra and column in carried:
            extra[column] = extra["claim_id"].map(carried.set_index("claim_id")[column])
    return pd.concat([rest, extra], ignore_index=True)


def _claim_outcomes(events: pd.DataFrame) -> pd.DataFrame:
    """One outcome per claim from its rows' facts: all denied → denied, all paid → paid, any
    other mix of decided rows → partially paid; nothing decided → pending."""
    decided = events[events["outcome"].notna() & (events["outcome"] != "pending")]
    grouped = decided.groupby("claim_id", sort=False)
    kinds = grouped["outcome"].agg(lambda o: o.iloc[0] if o.nunique() == 1 else "partially_paid")
    out = pd.DataFrame({"outcome": kinds})
    out["paid"] = grouped["paid"].sum(min_count=1) if "paid" in decided else np.nan
    out["decided"] = grouped["decided"].max() if "decided" in decided else pd.NaT
    out["codes"] = grouped["codes"].agg(lambda c: [x for codes in c for x in codes])
    return out


def _remits(
    claims: pd.DataFrame,
    events: pd.DataFrame,
    cmap: ColumnMap,
    problems: _Problems,
    notes: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One imported remit per decided claim, with the adjustments the denial rule reads."""
    outcomes = _claim_outcomes(events)
    claim = claims.set_index("claim_id").reindex(outcomes.index)
    charge = claim["total_charge"].astype(float)
    outcome = outcomes["outcome"]
    paid = outcomes["paid"].astype(float)
    no_paid = paid.isna()
    if (no_paid & (outcome == "partially_paid")).any():
        problems.error(
            "outcome.paid_amount",
            "missing_column",
            "partially paid claims need the amount paid; map outcome.paid_amount",
        )
    paid = paid.where(~no_paid, np.where(outcome == "paid", charge, 0.0))
    if (no_paid & (outcome == "paid")).any():
        notes.append("no paid amount: a paid claim is read as paid in full")
    lag = cmap.decision_lag_days
    decided = outcomes["decided"].astype(DATE_DTYPE)
    if decided.isna().any():
        days = DEFAULT_DECISION_LAG_DAYS if lag is None else lag
        notes.append(
            f"{int(decided.isna().sum()):,} outcomes have no decision date: dated submission + "
            f"{days} days (decision_lag_days)"
        )
        decided = decided.fillna(claim["submission_date"] + pd.Timedelta(days=days))
    remit_ids = [_remit_id(c) for c in outcomes.index]
    remits = pd.DataFrame(
        {
            "remit_id": remit_ids,
            "claim_id": outcomes.index,
            "payer_id": claim["payer_id"].to_numpy(),
            "payer_claim_control_number": None,
            "claim_status_code": "1",
            "remit_date": decided.to_numpy(),
            "charge_amount": charge.to_numpy(),
            "paid_amount": paid.round(2).to_numpy(),
            "patient_responsibility": np.nan,
            "origin": "import",
        }
    )
    adjustments = _adjustments(remits, outcomes["codes"].to_numpy(), outcome.to_numpy(), notes)
    return remits, adjustments


def _adjustments(
    remits: pd.DataFrame, codes: np.ndarray, outcome: np.ndarray, notes: list[str]
) -> pd.DataFrame:
    """The CAS rows of each imported remit: the unpaid charge shared by its reason codes."""
    rows = []
    reasonless = 0
    for r, given, kind in zip(remits.itertuples(index=False), codes, outcome, strict=True):
        unpaid = round(r.charge_amount - r.paid_amount, 2)
        given = list(dict.fromkeys(given))  # a code repeated across lines counts once
        if not given and kind == "denied":
            given, reasonless = [f"CO-{CATEGORY_CARC['other']}"], reasonless + 1
        if not given and unpaid > 0:
            given = ["CO-45"]
        for code in given:
            group, carc = code.split("-", 1)
            amount = round(unpaid / len(given), 2) if unpaid > 0 else 0.0
            rows.append((r.remit_id, r.claim_id, None, group, carc, amount))
    if reasonless:
        notes.append(f"{reasonless:,} denials give no reason: written as CO-A1 (category other)")
    frame = pd.DataFrame(rows, columns=TABLES["remit_adjustments"].columns)
    frame["line_number"] = frame["line_number"].astype("Int64")
    return frame


def _remit_id(claim_id: str) -> str:
    """``IMP-`` + the claim number, hashed when that would pass the contract's 50 characters."""
    rid = f"IMP-{claim_id}"
    return rid if len(rid) <= 50 else "IMP-" + hashlib.sha256(claim_id.encode()).hexdigest()[:40]
