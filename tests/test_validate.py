"""The validator: generated data passes; every kind of corruption is named by row and field."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from features.contract import TABLES, UNKNOWN_WHEN_EMPTY, WHY_REQUIRED
from features.io import DatasetError, load_dataset, validate_folder, write_dataset, write_table
from features.validate import Problem, validate_frames


def _problems(tables: dict[str, pd.DataFrame], rule: str) -> list[Problem]:
    _, _, report = validate_frames(tables)
    return [p for p in report.problems if p.rule == rule]


def test_generated_world_is_valid(tables):
    _, _, report = validate_frames(tables)
    assert report.ok, report.render()
    assert report.rows_read["claims"] == len(tables["claims"])


@pytest.mark.parametrize(
    ("table", "column", "value", "rule", "words"),
    [
        ("claims", "diagnosis_codes", "E11.9", "format", "M5450"),
        ("claims", "billing_npi", "123456789", "format", "1234567893"),
        ("claims", "billing_npi", "1234567890", "npi_check_digit", "NPPES"),
        ("claims", "claim_type", "dental", "allowed_values", "professional, institutional"),
        ("claims", "patient_age", 130, "range", "<= 120"),
        ("claims", "total_charge", np.nan, "required", "Total billed charge"),
        ("claim_lines", "procedure_code", "9711", "format", "97110"),
        ("claim_lines", "modifier_1", "G", "format", "GP"),
        ("remit_adjustments", "group_code", "XX", "allowed_values", "CO, PR, OA, PI, CR"),
        ("remit_remarks", "rarc", "Q12", "format", "N386"),
    ],
)
def test_bad_value_is_reported_with_row_column_and_expectation(
    tables, table, column, value, rule, words
):
    tables[table].loc[4, column] = value
    problems = [p for p in _problems(tables, rule) if p.column == column]
    assert problems, f"no {rule} problem for {table}.{column}"
    text = problems[0].render()
    assert "row 5" in text and column in text and words in text


def test_date_order_names_the_claim_and_the_fix(tables):
    claims = tables["claims"]
    claims.loc[7, "service_date_to"] = claims.loc[7, "service_date_from"] - pd.Timedelta(days=3)
    problem = next(p for p in _problems(tables, "date_order") if p.column == "service_date_to")
    assert f"claim_id={claims.loc[7, 'claim_id']}" in problem.render()
    assert "swap them" in problem.message


def test_remits_and_lines_without_any_claims_are_orphans_not_a_traceback(tables):
    """An 835-only ingest: remits (and stray lines) arrive before any claim is on file."""
    tables["claims"] = tables["claims"].iloc[:0]
    _, _, report = validate_frames(tables)
    rules = {(p.table, p.rule) for p in report.errors}
    assert ("remits", "orphan") in rules and ("claim_lines", "orphan") in rules


def test_orphan_lines_duplicate_ids_and_unknown_payer(tables):
    tables["claim_lines"].loc[0, "claim_id"] = "C_NOT_THERE"
    tables["claims"].loc[10, "claim_id"] = tables["claims"].loc[9, "claim_id"]
    tables["claims"].loc[11, "payer_id"] = "NOPE1"
    _, _, report = validate_frames(tables)
    rules = {(p.table, p.rule) for p in report.errors}
    assert ("claim_lines", "orphan") in rules
    assert ("claims", "duplicate_key") in rules
    assert ("claims", "unknown_payer") in rules
    unknown = next(p for p in report.errors if p.rule == "unknown_payer")
    assert "'NOPE1'" in unknown.render() and "payers" in unknown.message


def test_charge_balance_and_pointer_range(tables):
    tables["claims"].loc[3, "total_charge"] += 10
    one_dx = tables["claims"]["diagnosis_codes"].str.count(r"\|") == 0
    claim = tables["claims"].loc[one_dx, "claim_id"].iloc[0]
    line = tables["claim_lines"].index[tables["claim_lines"]["claim_id"] == claim][0]
    tables["claim_lines"].loc[line, "diagnosis_pointers"] = "1:3"
    _, _, report = validate_frames(tables)
    rules = {p.rule for p in report.errors}
    assert {"charge_balance", "pointer_range"} <= rules


def test_missing_table_and_column_are_table_level_errors(tables):
    del tables["remits"]
    tables["claims"] = tables["claims"].drop(columns=["payer_id"])
    _, _, report = validate_frames(tables)
    rules = {(p.table, p.rule, p.column) for p in report.errors}
    assert ("remits", "missing_table", "") in rules
    assert ("claims", "missing_column", "payer_id") in rules


def test_unknown_is_a_value_absent_optional_tables_and_fields_are_warnings(tables):
    """A practice's export lacks appeals, remarks and the fields marked unknown-when-empty:
    the rows are kept, each lacking field is counted, and nothing is an error."""
    del tables["appeals"], tables["remit_remarks"]
    unknown = sorted(c.split(".")[1] for c in UNKNOWN_WHEN_EMPTY if c.startswith("claims."))
    tables["claims"] = tables["claims"].drop(columns=unknown)
    typed, _, report = validate_frames(tables)
    assert report.ok, report.render()
    assert len(typed["claims"]) == len(tables["claims"]) and typed["appeals"].empty
    warned = {(p.table, p.rule, p.column): p.count for p in report.problems}
    assert ("appeals", "absent_table", "") in warned
    for column in unknown:
        assert warned[("claims", "unknown", column)] == len(tables["claims"])
    assert WHY_REQUIRED.keys() == {
        f"{t.name}.{f.name}" for t in TABLES.values() for f in t.fields if f.required
    }


def test_any_single_corrupted_code_cell_is_caught(tables):
    """Property: garbage in any coded column of any row is reported at that row and column."""
    rng = np.random.default_rng(20261124)
    coded = [(t.name, f.name) for t in TABLES.values() for f in t.fields if f.pattern or f.allowed]
    for _ in range(25):
        table, column = coded[rng.integers(len(coded))]
        frame = tables[table]
        row = int(rng.integers(len(frame)))
        original = frame.at[row, column]
        frame.at[row, column] = "#bad value#"
        problems = [
            p for p in validate_frames(tables)[2].errors if p.column == column and p.table == table
        ]
        frame.at[row, column] = original
        assert any(f"row {row + 1}" in p.render() for p in problems), (
            f"corrupting {table}.{column} at row {row + 1} was not reported; reproduce with "
            f"seed 20261124"
        )


def test_csv_type_errors_name_the_line(small_dataset_dir, tmp_path):
    folder = tmp_path / "csv"
    tables = {name: pd.read_parquet(small_dataset_dir / f"{name}.parquet") for name in TABLES}
    write_dataset(tables, folder, "csv")
    path = folder / "claims.csv"
    text = path.read_text().splitlines()
    fields = text[3].split(",")
    fields[12] = "2024-13-45"  # submission_date of data row 3
    text[3] = ",".join(fields)
    path.write_text("\n".join(text) + "\n")
    _, report = validate_folder(folder)
    problem = next(p for p in report.errors if p.column == "submission_date")
    assert problem.rule == "type"
    assert "row 3 (line 4)" in problem.render() and "YYYY-MM-DD" in problem.message


def test_load_dataset_raises_or_quarantines_without_silent_loss(small_dataset_dir, tmp_path):
    folder = tmp_path / "bad"
    shutil.copytree(small_dataset_dir, folder)
    lines = pd.read_parquet(folder / "claim_lines.parquet")
    bad_claim = lines.loc[2, "claim_id"]
    lines.loc[2, "procedure_code"] = "BAD!"
    write_table(lines, TABLES["claim_lines"], folder / "claim_lines.parquet")

    with pytest.raises(DatasetError) as err:
        load_dataset(folder)
    assert "procedure_code" in str(err.value) and "row 3" in str(err.value)

    clean, report = load_dataset(folder, on_error="quarantine")
    claims = pd.read_parquet(folder / "claims.parquet")
    assert bad_claim not in set(clean["claims"]["claim_id"])
    assert bad_claim not in set(clean["claim_lines"]["claim_id"])
    # every row is either kept or counted as quarantined
    for name in ("claims", "claim_lines", "remits", "remit_adjustments"):
        assert len(clean[name]) + report.quarantined[name] == report.rows_read[name]
    assert report.quarantined["claims"] == 1
    assert len(clean["claims"]) == len(claims) - 1
    assert "quarantined" in report.render()


def test_unreadable_file_is_reported_not_raised(small_dataset_dir, tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(small_dataset_dir, folder)
    (folder / "appeals.parquet").write_bytes(b"this is not parquet")
    _, report = validate_folder(folder)
    problem = next(p for p in report.errors if p.table == "appeals")
    assert problem.rule == "unreadable_file" and "appeals.parquet" in problem.render()
    assert "write it again as Parquet" in problem.message
    with pytest.raises(DatasetError):
        load_dataset(folder, on_error="quarantine")  # a table-level problem still stops loading
