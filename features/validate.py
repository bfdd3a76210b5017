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

from features.codes import npi_check_digit_ok
from features.contract import DATE_DTYPE, TABLES, Field, Table

Severity = Literal["error", "warning"]
MAX_EXAMPLES = 5
#: Problems that make a whole table untrustworthy, so quarantine cannot help.
TABLE_LEVEL_RULES = frozenset({"missing_table", "missing_column", "unreadable_file"})
_TRUE = {"true", "t", "1", "y", "yes"}
_FALSE = {"false", "f", "0", "n", "no"}


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
            )
        )
        if severity == "error":
            self.bad |= mask


def isin(values: pd.Series, known: pd.Series) -> pd.Series:
    """``values.isin(known)`` for large string columns, computed by Arrow.

    pandas 3's Arrow-backed ``isin`` walks ``known`` in Python; at a million rows that is most of
    validation's time. Missing values are never members.
    """
    value_set = pa.array(known.dropna().unique(), type=pa.string())
    hit = pc.is_in(pa.array(values, type=pa.string(), from_pandas=True), value_set=value_set)
    return pd.Series(hit.fill_null(False).to_numpy(zero_copy_only=False), index=values.index)


def _coerce(f: Field, raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Cast one raw column to the contract dtype; return (typed, mask of unparseable values)."""
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
        bad = typed.isna() & ~is_blank
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
        typed[lowered.isin(_TRUE)] = True
        typed[lowered.isin(_FALSE)] = False
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
    extra = [c for c in raw.columns if c not in table.columns]
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
    if missing:
        return None, np.zeros(len(raw), dtype=bool)

    raw = raw.reset_index(drop=True)
    typed = pd.DataFrame(index=raw.index)
    checker = _Checker(table, raw, file, report)
    for f in table.fields:
        column = raw[f.name] if f.name in raw.columns else pd.Series(pd.NA, index=raw.index)
        values, unparseable = _coerce(f, column)
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
            checker.flag(
                present & ~ok, f.name, "format", f"expected {f.expectation()}.", values=values
            )
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
        typed[f.name] = values
    if table.key:
        dup = typed.duplicated(list(table.key), keep="first")
        checker.flag(
            dup,
            ", ".join(table.key),
            "duplicate_key",
            "key repeats an earlier row; each row must be unique. Remove the duplicate "
            "or give it its own id.",
        )
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


# --- rules that look across columns of one row ----------------------------------------------


def _claims_rules(df: pd.DataFrame, c: _Checker) -> None:
    c.flag(
        df["service_date_from"] > df["service_date_to"],
        "service_date_to",
        "date_order",
        "service_date_to is before service_date_from; swap them or correct the dates.",
        values=df["service_date_to"].dt.strftime("%Y-%m-%d"),
    )
    c.flag(
        df["service_date_to"] > df["submission_date"],
        "submission_date",
        "date_order",
        "the claim was submitted before its last date of service; a claim cannot be filed "
        "before the service ends. Correct submission_date or service_date_to.",
        values=df["submission_date"].dt.strftime("%Y-%m-%d"),
    )
    c.flag(
        (df["eligibility_verified_date"] > df["submission_date"]).fillna(False),
        "eligibility_verified_date",
        "date_order",
        "eligibility was verified after the claim was submitted; record the check made "
        "before submission, or leave it empty.",
    )
    c.flag(
        ~npi_check_digit_ok(df["billing_npi"]) & df["billing_npi"].notna(),
        "billing_npi",
        "npi_check_digit",
        "the NPI's check digit is wrong (Luhn with prefix 80840); copy the NPI again from NPPES.",
        values=df["billing_npi"],
    )


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


_ROW_RULES: dict[str, tuple[Callable[[pd.DataFrame, _Checker], None], ...]] = {
    "claims": (_claims_rules,),
    "appeals": (_appeals_rules,),
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
    first_claims = (
        None if claims is None else claims.drop_duplicates("claim_id").set_index("claim_id")
    )
    if claims is not None and lines is not None:
        has_lines = isin(claims["claim_id"], lines["claim_id"])
        flag(
            "claims",
            ~has_lines,
            "claim_id",
            "no_lines",
            "claim has no service lines in claim_lines; every claim needs at least one.",
        )
        line_total = lines.groupby("claim_id")["line_charge"].sum()
        diff = (claims["claim_id"].map(line_total) - claims["total_charge"]).abs()
        flag(
            "claims",
            (diff > 0.005).fillna(False),
            "total_charge",
            "charge_balance",
            "total_charge differs from the sum of its line charges (837 rule CLM02 = "
            "sum of SV102/SV203); correct the header or the lines.",
            values=claims["total_charge"],
        )
        n_dx = first_claims["diagnosis_codes"].str.count(r"\|") + 1
        parts = lines["diagnosis_pointers"].str.split(":", expand=True)
        pointer_max = parts.apply(pd.to_numeric, errors="coerce").max(axis=1).fillna(0)
        over = pointer_max > lines["claim_id"].map(n_dx).fillna(99)
        flag(
            "claim_lines",
            over,
            "diagnosis_pointers",
            "pointer_range",
            "points past the claim's last diagnosis code; pointers count "
            "positions in claims.diagnosis_codes, from 1.",
            values=lines["diagnosis_pointers"],
        )
    remits = frames.get("remits")
    if claims is not None and remits is not None:
        submitted = remits["claim_id"].map(first_claims["submission_date"])
        flag(
            "remits",
            (remits["remit_date"] < submitted).fillna(False),
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
    unreadable: dict[str, str] | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, np.ndarray], Report]:
    """Validate raw tables (name → frame). Returns typed frames, bad-row masks and the report.

    ``files`` names where each table came from, for messages; it defaults to the table name.
    ``unreadable`` lists tables whose file could not be parsed, with the reader's complaint.
    Tables that could not be typed (a required column missing) are absent from the result.
    """
    files = {name: (files or {}).get(name, name) for name in TABLES}
    report = Report()
    typed: dict[str, pd.DataFrame] = {}
    bad: dict[str, np.ndarray] = {}
    for name, table in TABLES.items():
        if name in (unreadable or {}):
            report.problems.append(
                Problem(
                    "error",
                    name,
                    files[name],
                    "",
                    "unreadable_file",
                    f"could not be read ({unreadable[name]}); write it again as Parquet or "
                    "as UTF-8 CSV with a header row",
                )
            )
            continue
        if name not in raw:
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
        frame, mask = check_table(table, raw[name], files[name], report)
        if frame is not None:
            typed[name], bad[name] = frame, mask
    check_relations(typed, files, report, bad)
    return typed, bad, report
