"""Validate raw tables against the contract: type them, check every rule, report what is wrong.

Validation is pure: raw frames in, typed frames and a :class:`Report` out. Every problem names
the file, the rows (1-based data rows, at most five listed, with the row's key), the column,
what was expected, what was found and how to fix it. Nothing is dropped silently: a caller either
stops on errors or asks for quarantine, which removes the bad rows *and every row that depends on
them* (a bad claim takes its lines, remits, adjustments and appeals with it) and counts them in
the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.codes import npi_check_digit_ok, npi_ok
from features.contract import (
    DATE_DTYPE,
    FALSE_WORDS,
    TABLES,
    TRUE_WORDS,
    UNKNOWN_WHEN_EMPTY,
    Field,
    Table,
    format_hint,
)
from features.extras import extra_names, looks_extra
from features.extras import kind_of as extra_kind
from features.extras import typed as typed_extra
from features.lookup import arrow_text, first_position, isin, take

Severity = Literal["error", "warning"]
MAX_EXAMPLES = 5
#: Problems that make a whole table untrustworthy, so quarantine cannot help.
TABLE_LEVEL_RULES = frozenset(
    {"missing_table", "missing_column", "unreadable_file", "stored_type", "duplicate_file"}
)
DUPLICATE_KEY = (
    "key repeats an earlier row; each row must be unique. Remove the duplicate "
    "or give it its own id."
)


@dataclass(frozen=True)
class Problem:
    """One rule broken by one or more rows of one column."""

    severity: Severity
    table: str
    file: str
    column: str
    rule: str
    message: str
    count: int = 0
    examples: tuple[str, ...] = ()
    #: Every flagged row (0-based positions in the table as given), for per-claim rejects.
    rows: tuple[int, ...] = field(default=(), repr=False, compare=False)

    def render(self) -> str:
        where = f"{self.file} column {self.column!r}" if self.column else self.file
        head = f"{self.severity.upper()} {where} [{self.rule}]"
        if self.count:
            head += f" {self.count} row{'s' if self.count > 1 else ''}"
        lines = [f"{head}: {self.message}"]
        lines += [f"    {e}" for e in self.examples]
        if self.count > len(self.examples) > 0:
            lines.append(f"    ... and {self.count - len(self.examples)} more")
        return "\n".join(lines)


@dataclass
class Report:
    """Everything validation found, plus row counts and what quarantine removed."""

    problems: list[Problem] = field(default_factory=list)
    rows_read: dict[str, int] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def render(self) -> str:
        lines = [p.render() for p in self.problems]
        counts = ", ".join(f"{t} {n:,}" for t, n in self.rows_read.items())
        lines.append(f"rows read: {counts}")
        if self.quarantined:
            q = ", ".join(f"{t} {n:,}" for t, n in self.quarantined.items() if n)
            lines.append(f"quarantined (removed, with the reasons above): {q or 'none'}")
        n_err, n_warn = len(self.errors), len(self.problems) - len(self.errors)
        verdict = "valid" if self.ok else "INVALID"
        lines.append(f"{verdict}: {n_err} error(s), {n_warn} warning(s)")
        return "\n".join(lines)


class _Checker:
    """Collects problems and the bad-row mask for one table while its rules run."""

    def __init__(self, table: Table, frame: pd.DataFrame, file: str, report: Report):
        self.table, self.frame, self.file, self.report = table, frame, file, report
        self.bad = np.zeros(len(frame), dtype=bool)

    def row_label(self, i: int) -> str:
        key = self.table.key[0] if self.table.key else "claim_id"
        label = f"row {i + 1}"
        if self.file.endswith(".csv"):
            label += f" (line {i + 2})"
        if key in self.frame.columns:
            value = self.frame[key].iloc[i]
            if isinstance(value, str) and value:
                label += f" {key}={value}"
        return label

    def flag(
        self,
        mask: pd.Series | np.ndarray,
        column: str,
        rule: str,
        message: str,
        severity: Severity = "error",
        values: pd.Series | None = None,
    ) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        rows = np.flatnonzero(mask)
        examples = []
        for i in rows[:MAX_EXAMPLES]:
            got = "" if values is None else f": got {values.iloc[i]!r}"
            examples.append(self.row_label(int(i)) + got)
        self.report.problems.append(
            Problem(
                severity,
                self.table.name,
                self.file,
                column,
                rule,
                message,
                int(mask.sum()),
                tuple(examples),
                tuple(rows.tolist()),
            )
        )
        if severity == "error":
            self.bad |= mask


def highest_pointer(pointers: pd.Series) -> pd.Series:
    """Each line's highest diagnosis pointer ("1:3" → 3; 0 when none or unreadable, which the
    pattern check reports).

    Split by Arrow and reduced per line with numpy: pandas' ``str.split(expand=True)`` builds a
    Python list per row, most of the relation checks' time at a million lines.
    """
    parts = pc.split_pattern(arrow_text(pointers), ":")
    flat = pc.list_flatten(parts)
    digits = pc.utf8_is_digit(flat).to_numpy(zero_copy_only=False)
    numbers = pc.cast(pc.if_else(digits, flat, "0"), pa.float64()).to_numpy()
    highest = np.zeros(len(pointers))
    np.fmax.at(highest, pc.list_parent_indices(parts).to_numpy(), np.where(digits, numbers, np.nan))
    return pd.Series(highest, index=pointers.index)


#: Stored column types the contract accepts for each kind without a word; a ``SAFE_WIDENING``
#: is read with a warning, and anything else is an error (a typed file that disagrees with the
#: contract was written by something that misunderstood it).
_STORED_KINDS = {
    "string": ("string",),
    "int": ("integer",),
    "float": ("floating",),
    "bool": ("boolean",),
    "date": ("datetime",),
}
SAFE_WIDENING = {("float", "integer"): "whole numbers stored as integers, read as numbers"}


def _stored_kind(raw: pd.Series) -> str | None:
    """The kind a typed column was stored as (None for text or mixed objects, parsed as text).

    Text in a file that stores types (``attrs["typed_file"]``, set by ``io.read_raw`` for
    Parquet) is stored as ``string``: a number written as text there is a writer's mistake.
    """
    if pd.api.types.is_string_dtype(raw) and raw.attrs.get("typed_file"):
        return "string"
    if raw.dtype == object or pd.api.types.is_string_dtype(raw):
        return None
    if pd.api.types.is_bool_dtype(raw):
        return "boolean"
    if pd.api.types.is_integer_dtype(raw):
        return "integer"
    if pd.api.types.is_float_dtype(raw):
        return "floating"
    if pd.api.types.is_datetime64_any_dtype(raw):
        return "datetime"
    return str(raw.dtype)


def check_stored_type(f: Field, raw: pd.Series) -> tuple[str, str] | None:
    """(severity, message) when a typed column's stored type is not the contract's, else None."""
    stored = _stored_kind(raw)
    if stored is None or stored in _STORED_KINDS[f.kind]:
        if stored == "datetime" and raw.notna().any():
            times = raw.dropna()
            if (times != times.dt.normalize()).any():
                return "error", (
                    f"stored as date-times with a time of day (e.g. {times.iloc[0]}); expected "
                    "dates only: write the column as a date, or as text YYYY-MM-DD."
                )
        return None
    if (f.kind, stored) in SAFE_WIDENING:
        return "warning", f"{SAFE_WIDENING[f.kind, stored]} (stored {raw.dtype})."
    fix = (
        "write dates as text YYYY-MM-DD or as a date column (integer-encoded dates such as "
        "20240315 or day numbers are ambiguous)"
        if f.kind == "date"
        else f"write it as {f.expectation()}"
    )
    return "error", f"stored as {raw.dtype}, expected {f.kind} ({f.expectation()}): {fix}."


def _coerce(f: Field, raw: pd.Series, as_text: bool = False) -> tuple[pd.Series, pd.Series]:
    """Cast one raw column to the contract dtype; return (typed, mask of unparseable values).

    Text is parsed; booleans are never numbers and numbers must be finite. ``as_text`` reads a
    typed column of the wrong kind (see ``check_stored_type``) as text, value by value.
    """
    if as_text:
        raw = (
            raw.astype(object).where(raw.notna(), None).map(lambda v: None if v is None else str(v))
        )
    is_blank = raw.isna()
    if raw.dtype == object or pd.api.types.is_string_dtype(raw):
        text = raw.astype("str").str.strip()
        is_blank = is_blank | (text == "")
    else:
        text = None
    if f.kind == "string":
        typed = (text if text is not None else raw.astype("str")).where(~is_blank)
        return typed.astype("str"), pd.Series(False, index=raw.index)
    if f.kind in ("int", "float"):
        typed = pd.to_numeric(text if text is not None else raw, errors="coerce")
        typed = typed.where(np.isfinite(typed.astype("float64")))
        bad = typed.isna() & ~is_blank
        if raw.dtype == object:  # a JSON-shaped column: True is not 1, and "1e400" is not finite
            bad |= raw.map(lambda v: isinstance(v, bool)).astype(bool)
        if f.kind == "int":
            bad |= typed.notna() & (typed != np.floor(typed.fillna(0)))
            typed = typed.where(~bad).astype("Int64")
            return (typed if not f.required or typed.isna().any() else typed.astype("int64")), bad
        return typed.astype("float64"), bad
    if f.kind == "bool":
        if pd.api.types.is_bool_dtype(raw):
            return raw.astype("boolean"), pd.Series(False, index=raw.index)
        lowered = (text if text is not None else raw.astype("str")).str.lower()
        typed = pd.Series(pd.NA, index=raw.index, dtype="boolean")
        typed[lowered.isin(TRUE_WORDS)] = True
        typed[lowered.isin(FALSE_WORDS)] = False
        return typed, typed.isna() & ~is_blank
    # dates
    if pd.api.types.is_datetime64_any_dtype(raw):
        typed = raw
    else:
        typed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    typed = typed.astype(DATE_DTYPE)
    return typed, typed.isna() & ~is_blank


def check_table(
    table: Table, raw: pd.DataFrame, file: str, report: Report
) -> tuple[pd.DataFrame | None, np.ndarray]:
    """Type one table and check its column-level rules. Returns (typed frame, bad-row mask)."""
    report.rows_read[table.name] = len(raw)
    missing, custom = _check_header(table, raw, file, report)
    if missing:
        return None, np.zeros(len(raw), dtype=bool)
    raw = raw.reset_index(drop=True)
    typed = pd.DataFrame(index=raw.index)
    checker = _Checker(table, raw, file, report)
    for f in table.fields:
        typed[f.name] = _check_field(f, raw, checker)
    if table.key:
        dup = typed.duplicated(list(table.key), keep="first")
        checker.flag(dup, ", ".join(table.key), "duplicate_key", DUPLICATE_KEY)
    for name in custom:  # typed by what they hold (features.extras)
        typed[name] = typed_extra(raw[name], extra_kind(raw[name]))
    for rule in _ROW_RULES.get(table.name, ()):
        rule(typed, checker)
    typed = typed.astype(
        {
            c: d
            for c, d in table.dtypes().items()
            if not (d == "int64" and typed[c].isna().any())
            and not (d == "bool" and typed[c].isna().any())
        }
    )
    return typed, checker.bad


def _check_header(
    table: Table, raw: pd.DataFrame, file: str, report: Report
) -> tuple[list[str], list[str]]:
    """(required columns that are absent, custom x_ columns kept) of one table's header; the
    absent, badly named and unknown columns are reported."""
    missing = [c for c in table.columns if c not in raw.columns and table.field(c).required]
    for c in missing:
        f = table.field(c)
        report.problems.append(
            Problem(
                "error",
                table.name,
                file,
                c,
                "missing_column",
                f"required column is absent; add {c!r} ({f.description} "
                f"Expected {f.expectation()}).",
            )
        )
    custom = extra_names(raw.columns) if table.name == "claims" else []
    extra = [c for c in raw.columns if c not in table.columns and c not in custom]
    badly_named = [c for c in extra if looks_extra(c)] if table.name == "claims" else []
    if badly_named:
        report.problems.append(
            Problem(
                "error",
                table.name,
                file,
                ", ".join(badly_named),
                "extra_name",
                "a custom feature's name is x_ then lower-case letters, digits or _ "
                "(e.g. x_in_network); rename the column",
            )
        )
        extra = [c for c in extra if c not in badly_named]
    if extra:
        report.problems.append(
            Problem(
                "warning",
                table.name,
                file,
                ", ".join(map(str, extra)),
                "unknown_column",
                "not in the contract and ignored; rename it if it was meant to be one of: "
                + ", ".join(table.columns),
            )
        )
    return missing, custom


def _check_field(f: Field, raw: pd.DataFrame, checker: _Checker) -> pd.Series:
    """One column typed, with its rules (type, required, format, allowed values, range)
    flagged on ``checker``: the typed values."""
    column = raw[f.name] if f.name in raw.columns else pd.Series(pd.NA, index=raw.index)
    stored = check_stored_type(f, column) if f.name in raw.columns else None
    if stored is not None:
        checker.report.problems.append(
            Problem(stored[0], checker.table.name, checker.file, f.name, "stored_type", stored[1])
        )
    values, unparseable = _coerce(f, column, as_text=stored is not None and stored[0] == "error")
    checker.flag(unparseable, f.name, "type", f"not {f.expectation()}.", values=column)
    present = values.notna()
    if f.required:
        checker.flag(
            ~present & ~unparseable,
            f.name,
            "required",
            f"empty, but required: {f.description} Fill it with {f.expectation()}.",
        )
    if f.pattern is not None:
        ok = values.str.fullmatch(f.pattern).fillna(False).astype(bool)
        bad = present & ~ok
        shown = values.copy()
        shown[bad] = [f"{v}{format_hint(f.pattern, v)}" for v in values[bad].tolist()]
        checker.flag(bad, f.name, "format", f"expected {f.expectation()}.", values=shown)
    if f.allowed is not None:
        checker.flag(
            present & ~values.isin(f.allowed),
            f.name,
            "allowed_values",
            f"expected {f.expectation()}.",
            values=values,
        )
    for bound, outside, word in (
        (f.minimum, values.lt, "below the minimum"),
        (f.maximum, values.gt, "above the maximum"),
    ):
        if bound is not None:
            checker.flag(
                present & outside(bound).fillna(False),
                f.name,
                "range",
                f"{word}; expected {f.expectation()}.",
                values=values,
            )
    _count_unknown(f, values, checker)
    return values


def empty_table(table: Table) -> pd.DataFrame:
    """A table with the contract's columns and no rows: what an absent optional table reads as."""
    return pd.DataFrame({f.name: pd.Series(dtype=f.pandas_dtype) for f in table.fields})


def _count_unknown(f: Field, values: pd.Series, c: _Checker) -> None:
    """Warn with the number of rows that leave a may-be-unknown field empty (kept, not refused)."""
    if f"{c.table.name}.{f.name}" not in UNKNOWN_WHEN_EMPTY:
        return
    lacking = int(values.isna().sum())
    if lacking:
        c.report.problems.append(
            Problem(
                "warning",
                c.table.name,
                c.file,
                f.name,
                "unknown",
                f"empty (of {len(values):,}): the rows are kept and the model reads "
                f"{f.name} as unknown.",
                count=lacking,
            )
        )


# --- rules that look across columns of one row ----------------------------------------------


#: The rules across one claim's fields, each defined once: (column flagged, rule, message).
#: ``_claims_rules``/``check_relations`` apply them to whole tables and ``check_claim`` to one
#: claim as the API receives it; ``tests/security`` proves the two agree.
CLAIM_RULES: dict[str, tuple[str, str, str]] = {
    "service_order": (
        "service_date_to",
        "date_order",
        "service_date_to is before service_date_from; swap them or correct the dates.",
    ),
    "submission_order": (
        "submission_date",
        "date_order",
        "the claim was submitted before its last date of service; a claim cannot be filed "
        "before the service ends. Correct submission_date or service_date_to.",
    ),
    "eligibility_order": (
        "eligibility_verified_date",
        "date_order",
        "eligibility was verified after the claim was submitted; record the check made "
        "before submission, or leave it empty.",
    ),
    "npi": (
        "billing_npi",
        "npi_check_digit",
        "the NPI's check digit is wrong (Luhn with prefix 80840); copy the NPI again from NPPES.",
    ),
    "charge_balance": (
        "total_charge",
        "charge_balance",
        "total_charge differs from the sum of its line charges (837 rule CLM02 = "
        "sum of SV102/SV203); correct the header or the lines.",
    ),
    "pointer_range": (
        "diagnosis_pointers",
        "pointer_range",
        "points past the claim's last diagnosis code; pointers count "
        "positions in claims.diagnosis_codes, from 1.",
    ),
    "line_number": ("claim_id, line_number", "duplicate_key", DUPLICATE_KEY),
}


def _claims_rules(df: pd.DataFrame, c: _Checker) -> None:
    def flag(rule: str, mask: pd.Series, values: pd.Series | None = None) -> None:
        column, name, message = CLAIM_RULES[rule]
        c.flag(mask, column, name, message, values=values)

    flag(
        "service_order",
        df["service_date_from"] > df["service_date_to"],
        df["service_date_to"].dt.strftime("%Y-%m-%d"),
    )
    flag(
        "submission_order",
        df["service_date_to"] > df["submission_date"],
        df["submission_date"].dt.strftime("%Y-%m-%d"),
    )
    flag(
        "eligibility_order",
        (df["eligibility_verified_date"] > df["submission_date"]).fillna(False),
    )
    flag(
        "npi",
        ~npi_check_digit_ok(df["billing_npi"]) & df["billing_npi"].notna(),
        df["billing_npi"],
    )


def check_claim(header: dict, lines: list[dict]) -> list[tuple[str, str, str, str]]:
    """``CLAIM_RULES`` on one claim already typed field by field (dates as ``date``).

    Returns (table, column, rule, message) per broken rule. This is the API's path: a claim in
    a request is typed by models built from the contract, and then must pass the same rules
    across fields that ``claimrisk validate`` applies to tables.
    """
    broken = []

    def rule(key: str, failed: bool, table: str = "claims") -> None:
        if failed:
            broken.append((table, *CLAIM_RULES[key]))

    start, end, sent = (
        header[k] for k in ("service_date_from", "service_date_to", "submission_date")
    )
    checked = header.get("eligibility_verified_date")
    rule("service_order", start > end)
    rule("submission_order", end > sent)
    rule("eligibility_order", checked is not None and checked > sent)
    npi = header.get("billing_npi")  # unknown is a value: an export may carry no NPI
    rule("npi", npi is not None and not npi_ok(npi))
    total = sum(line["line_charge"] for line in lines)
    if abs(total - header["total_charge"]) > 0.005:
        column, name, message = CLAIM_RULES["charge_balance"]
        amounts = f" (total_charge {header['total_charge']:,.2f}, lines sum to {total:,.2f})"
        broken.append(("claims", column, name, message + amounts))
    dx = header.get("diagnosis_codes")  # unknown diagnoses: no pointer can be checked
    n_dx = dx.count("|") + 1 if dx else 99
    pointers = [
        int(p) for line in lines for p in (line.get("diagnosis_pointers") or "").split(":") if p
    ]
    rule("pointer_range", any(p > n_dx for p in pointers), "claim_lines")
    numbers = [line["line_number"] for line in lines]
    rule("line_number", len(set(numbers)) < len(numbers), "claim_lines")
    return broken


def _appeals_rules(df: pd.DataFrame, c: _Checker) -> None:
    c.flag(
        (df["resolved_date"] < df["appeal_date"]).fillna(False),
        "resolved_date",
        "date_order",
        "the appeal was resolved before it was filed; correct the dates.",
    )
    pending = df["outcome"] == "pending"
    c.flag(
        pending & df["resolved_date"].notna(),
        "resolved_date",
        "consistency",
        "a pending appeal has a resolved_date; set the outcome or clear the date.",
    )
    c.flag(
        ~pending & df["outcome"].notna() & df["resolved_date"].isna(),
        "resolved_date",
        "consistency",
        "a decided appeal (overturned/upheld) needs its resolved_date.",
    )
    c.flag(
        (df["outcome"] == "overturned") & df["recovered_amount"].isna(),
        "recovered_amount",
        "consistency",
        "an overturned appeal needs recovered_amount (0 if nothing was paid).",
    )


def _eligibility_rules(df: pd.DataFrame, c: _Checker) -> None:
    c.flag(
        (df["plan_end_date"] < df["plan_begin_date"]).fillna(False),
        "plan_end_date",
        "date_order",
        "the plan ends before it begins; check the two dates (DTP*346/347) for a swap.",
    )


_ROW_RULES: dict[str, tuple[Callable[[pd.DataFrame, _Checker], None], ...]] = {
    "claims": (_claims_rules,),
    "appeals": (_appeals_rules,),
    "eligibility": (_eligibility_rules,),
}


# --- rules across tables ------------------------------------------------------------------------


def _flag_rows(
    report: Report,
    bad: dict[str, np.ndarray],
    frames: dict[str, pd.DataFrame],
    files: dict[str, str],
    table: str,
    mask: pd.Series,
    column: str,
    rule: str,
    message: str,
    values: pd.Series | None = None,
) -> None:
    checker = _Checker(TABLES[table], frames[table], files[table], report)
    checker.flag(mask, column, rule, message, values=values)
    bad[table] |= checker.bad


def check_relations(
    frames: dict[str, pd.DataFrame],
    files: dict[str, str],
    report: Report,
    bad: dict[str, np.ndarray],
) -> None:
    """Foreign keys, orphans and rules that compare rows of different tables."""
    flag = partial(_flag_rows, report, bad, frames, files)
    for table in TABLES.values():
        if table.name not in frames:
            continue
        df = frames[table.name]
        for ref in table.references:
            if ref.table not in frames:
                continue
            known = frames[ref.table][ref.target]
            missing = df[ref.column].notna() & ~isin(df[ref.column], known)
            noun = {"payers": "unknown payer", "claims": "orphan", "remits": "orphan"}[ref.table]
            flag(
                table.name,
                missing,
                ref.column,
                noun.replace(" ", "_"),
                f"{noun}: no {ref.table} row has {ref.target} equal to this value. Add the "
                f"{ref.table[:-1]} to {files.get(ref.table, ref.table)} or correct the id.",
                values=df[ref.column],
            )
    claims, lines = frames.get("claims"), frames.get("claim_lines")
    # Repeated ids are reported by the key check; relations use the first row of each id.
    if claims is not None and lines is not None:
        _check_lines(claims, lines, flag)
    remits = frames.get("remits")
    if claims is not None and remits is not None:
        at = first_position(remits["claim_id"], claims["claim_id"])
        submission = claims["submission_date"].to_numpy(dtype="datetime64[s]")
        submitted = take(submission, at, np.datetime64("NaT"))
        flag(
            "remits",
            pd.Series(
                remits["remit_date"].to_numpy(dtype="datetime64[s]") < submitted,
                index=remits.index,
            ),
            "remit_date",
            "date_order",
            "the remittance is dated before the claim was submitted; check the claim_id "
            "match (CLP01) or the remit date.",
        )
    appeals = frames.get("appeals")
    if appeals is not None and remits is not None and len(appeals) and len(remits):
        first_remit = remits.groupby("claim_id")["remit_date"].min()
        before = appeals["appeal_date"] < appeals["claim_id"].map(first_remit)
        flag(
            "appeals",
            before.fillna(False),
            "appeal_date",
            "date_order",
            "the appeal is dated before the claim's first remittance; an "
            "appeal answers a decision, so check the date or the claim_id.",
        )
        no_remit = ~isin(appeals["claim_id"], remits["claim_id"])
        flag(
            "appeals",
            no_remit,
            "claim_id",
            "no_remit",
            "appeal of a claim with no remittance; load the 835 for this claim first.",
        )


def _check_lines(claims: pd.DataFrame, lines: pd.DataFrame, flag: Callable[..., None]) -> None:
    """Every claim has lines, its total balances them, and their pointers name its diagnoses."""
    has_lines = isin(claims["claim_id"], lines["claim_id"])
    flag(
        "claims",
        ~has_lines,
        "claim_id",
        "no_lines",
        "claim has no service lines in claim_lines; every claim needs at least one.",
    )
    first = first_position(claims["claim_id"], claims["claim_id"])  # a repeated id's first row
    claim_of = first_position(lines["claim_id"], claims["claim_id"])
    known = claim_of >= 0
    charge = np.nan_to_num(lines["line_charge"].to_numpy(dtype=float, na_value=np.nan))
    line_total = np.bincount(claim_of[known], weights=charge[known], minlength=len(claims))
    totals = np.where(has_lines.to_numpy(), line_total[first], np.nan)
    total = claims["total_charge"].to_numpy(dtype=float, na_value=np.nan)
    off = pd.Series(np.abs(totals - total) > 0.005, index=claims.index)
    both = pd.Series("", index=claims.index, dtype=object)  # both amounts, where they differ
    both[off] = [
        f"{t:,.2f}, lines sum to {s:,.2f}" for t, s in zip(total[off], totals[off], strict=True)
    ]
    column, rule, message = CLAIM_RULES["charge_balance"]
    flag("claims", off, column, rule, message, values=both)
    n_dx = (claims["diagnosis_codes"].str.count(r"\|") + 1).to_numpy(dtype=float, na_value=np.nan)
    allowed = take(n_dx, claim_of, np.nan)
    over = highest_pointer(lines["diagnosis_pointers"]) > np.nan_to_num(allowed, nan=99)
    column, rule, message = CLAIM_RULES["pointer_range"]
    flag("claim_lines", over, column, rule, message, values=lines["diagnosis_pointers"])


def quarantine(
    frames: dict[str, pd.DataFrame], bad: dict[str, np.ndarray], report: Report
) -> dict[str, pd.DataFrame]:
    """Drop bad rows, taking the claim as the unit; count what was removed in the report.

    Any bad row that belongs to a claim (a line, remit, adjustment, remark or appeal) removes that
    whole claim with everything attached to it, because a claim with half its lines or a remit
    without its adjustments would be silently wrong. A bad payer removes its claims.
    """
    drop_claims: set[str] = set()
    for name, df in frames.items():
        if "claim_id" in df.columns:
            drop_claims.update(df["claim_id"][bad[name]].dropna().tolist())
    if "payers" in frames and "claims" in frames:
        dropped_payers = frames["payers"]["payer_id"][bad["payers"]]
        claims = frames["claims"]
        drop_claims.update(claims["claim_id"][claims["payer_id"].isin(dropped_payers)].tolist())
    out = {}
    for name, df in frames.items():
        keep = ~bad[name]
        if "claim_id" in df.columns:
            keep &= ~df["claim_id"].isin(drop_claims).to_numpy()
        report.quarantined[name] = int((~keep).sum())
        out[name] = df[keep].reset_index(drop=True)
    return out


def validate_frames(
    raw: dict[str, pd.DataFrame],
    files: dict[str, str] | None = None,
    unreadable: dict[str, tuple[str, str]] | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, np.ndarray], Report]:
    """Validate raw tables (name → frame). Returns typed frames, bad-row masks and the report.

    ``files`` names where each table came from, for messages; it defaults to the table name.
    ``unreadable`` lists tables whose file could not be used, as (rule, complaint).
    Tables that could not be typed (a required column missing) are absent from the result.
    """
    files = {name: (files or {}).get(name, name) for name in TABLES}
    report = Report()
    typed: dict[str, pd.DataFrame] = {}
    bad: dict[str, np.ndarray] = {}
    for name, table in TABLES.items():
        if name in (unreadable or {}):
            rule, complaint = unreadable[name]
            fix = (
                ""
                if rule == "duplicate_file"
                else ("; write it again as Parquet or as UTF-8 CSV with a header row")
            )
            report.problems.append(Problem("error", name, files[name], "", rule, complaint + fix))
            continue
        if name not in raw and table.required:
            report.problems.append(
                Problem(
                    "error",
                    name,
                    files[name],
                    "",
                    "missing_table",
                    f"no {name} table found; write {name}.parquet or {name}.csv "
                    f"({table.description})",
                )
            )
            continue
        if name not in raw:
            report.problems.append(
                Problem(
                    "warning",
                    name,
                    files[name],
                    "",
                    "absent_table",
                    f"no {name} table found; read as empty ({table.description})",
                )
            )
            raw = {**raw, name: empty_table(table)}
        frame, mask = check_table(table, raw[name], files[name], report)
        if frame is not None:
            typed[name], bad[name] = frame, mask
    check_relations(typed, files, report, bad)
    return typed, bad, report


#: One row per problem of one claim: what the scoring path reports instead of a score.
REJECT_COLUMNS = ("claim_id", "table", "row", "field", "rule", "got", "message")
CLAIM_TABLES = ("claims", "claim_lines")


def validate_claims(
    claims: pd.DataFrame,
    lines: pd.DataFrame,
    files: dict[str, str] | None = None,
    eligibility: pd.DataFrame | None = None,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Validate claims about to be scored: every field and cross-field rule ``validate`` checks
    on claims and their lines (types, formats, bounds, date order, unique claim ids and line
    numbers, pointers within the diagnoses, total = sum of lines), and on the eligibility
    responses sent with them.

    Returns the typed tables and the rejects (``REJECT_COLUMNS``): every problem of every claim,
    so that a claim that cannot be scored is named with its field, never dropped. A bad response
    is named too (table ``eligibility``, no claim); the claims are scored without it.
    """
    raw = {"claims": claims.reset_index(drop=True), "claim_lines": lines.reset_index(drop=True)}
    if eligibility is not None:
        raw["eligibility"] = eligibility.reset_index(drop=True)
    files = {name: (files or {}).get(name, name) for name in raw}
    report, typed, bad = Report(), {}, {}
    for name in raw:
        if name in CLAIM_TABLES:
            _require_every_column(TABLES[name], raw[name], files[name], report)
        frame, mask = check_table(TABLES[name], raw[name], files[name], report)
        if frame is not None:
            typed[name], bad[name] = frame, mask
    check_relations(typed, files, report, bad)
    return typed, _rejects(report, raw)


def _require_every_column(table: Table, frame: pd.DataFrame, file: str, report: Report) -> None:
    """A column absent from a batch to score is an error even when its values may be empty:
    a missing ``procedure_code`` column would silently change most scores."""
    for f in table.fields:
        if f.name not in frame.columns and not f.required:
            report.problems.append(
                Problem(
                    "error",
                    table.name,
                    file,
                    f.name,
                    "missing_column",
                    f"column is absent; add {f.name!r} (its values may be empty: {f.description})",
                )
            )


def _rejects(report: Report, raw: dict[str, pd.DataFrame]) -> pd.DataFrame:
    rows: list[tuple] = []
    all_ids = raw["claims"]["claim_id"] if "claim_id" in raw["claims"] else pd.Series(dtype=str)
    for p in report.errors:
        frame = raw[p.table]
        ids = frame["claim_id"] if "claim_id" in frame else pd.Series([None] * len(frame))
        column = frame.get(p.column)
        if p.rows:
            for r in p.rows:
                got = None if column is None else column.iloc[r]
                rows.append((ids.iloc[r], p.table, r + 1, p.column, p.rule, got, p.message))
        else:  # a column-level problem (missing, wrongly stored) rejects every claim
            rows += [(c, p.table, None, p.column, p.rule, None, p.message) for c in all_ids]
    out = pd.DataFrame(rows, columns=list(REJECT_COLUMNS))
    out["claim_id"] = out["claim_id"].map(lambda v: v if isinstance(v, str) and v else None)
    out["got"] = out["got"].map(_as_text)
    return out


def _as_text(value: object) -> str | None:
    """A rejected value as the user typed it (None when absent), safe for JSON and CSV."""
    if value is None or (isinstance(value, float) and not np.isfinite(value) and value != value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return str(value)
