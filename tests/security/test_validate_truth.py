"""``claimrisk validate`` tells the truth: wrongly typed Parquet, integer dates, empty files and
two files for one table are clear errors, never a traceback and never 'valid'."""

from __future__ import annotations

import shutil

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from serving.cli import app as cli


@pytest.fixture
def folder(small_dataset_dir, tmp_path):
    out = tmp_path / "data"
    shutil.copytree(small_dataset_dir, out)
    (out / "truth.parquet").unlink()
    return out


def _validate(folder, *extra):
    return CliRunner().invoke(cli, ["validate", str(folder), *extra])


def _rewrite(folder, table, change):
    path = folder / f"{table}.parquet"
    data = pq.read_table(path)
    pq.write_table(change(data), path)


def test_a_column_of_the_wrong_type_is_an_error(folder):
    _rewrite(
        folder,
        "claims",
        lambda t: t.set_column(
            t.schema.get_field_index("patient_age"),
            "patient_age",
            pa.array([str(v) for v in t["patient_age"].to_pylist()]),
        ),
    )
    r = _validate(folder)
    assert r.exit_code == 1
    assert "column 'patient_age' [stored_type]" in r.output and "stored as" in r.output


def test_a_date_with_a_time_of_day_is_an_error(folder):
    def with_time(t):
        i = t.schema.get_field_index("submission_date")
        stamps = pd.to_datetime(t["submission_date"].to_pandas()) + pd.Timedelta(hours=13)
        return t.set_column(i, "submission_date", pa.array(stamps))

    _rewrite(folder, "claims", with_time)
    r = _validate(folder)
    assert r.exit_code == 1 and "time of day" in r.output


def test_integer_dates_get_a_clear_answer(folder):
    def as_int(t):
        i = t.schema.get_field_index("submission_date")
        days = pd.to_datetime(t["submission_date"].to_pandas()).dt.strftime("%Y%m%d").astype(int)
        return t.set_column(i, "submission_date", pa.array(days))

    _rewrite(folder, "claims", as_int)
    r = _validate(folder)
    assert r.exit_code == 1 and "integer-encoded dates" in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)


def test_header_only_csv_and_empty_parquet_get_a_clear_answer(folder):
    pd.read_parquet(folder / "appeals.parquet").head(0).to_csv(folder / "appeals.csv", index=False)
    (folder / "appeals.parquet").unlink()
    (folder / "remit_remarks.parquet").write_bytes(b"")
    r = _validate(folder)
    assert isinstance(r.exception, SystemExit), r.exception
    assert "remit_remarks.parquet [unreadable_file]" in r.output
    assert "appeals" not in r.output.split("rows read")[0]  # an empty appeals table is valid


def test_two_files_for_one_table_is_an_error(folder):
    pd.read_parquet(folder / "payers.parquet").to_csv(folder / "payers.csv", index=False)
    r = _validate(folder)
    assert r.exit_code == 1 and "[duplicate_file]" in r.output and "payers.csv" in r.output


def test_quarantine_is_reachable_from_the_cli(folder, tmp_path):
    claims = pd.read_parquet(folder / "claims.parquet")
    claims.loc[3, "claim_type"] = "dentistry"
    claims.to_parquet(folder / "claims.parquet")
    out = tmp_path / "clean"
    r = _validate(folder, "--quarantine", str(out))
    assert r.exit_code == 0, r.output
    assert "quarantined" in r.output and (out / "claims.parquet").exists()
    assert len(pd.read_parquet(out / "claims.parquet")) == len(claims) - 1
    assert _validate(out).exit_code == 0
