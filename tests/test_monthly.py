"""Month by month (features.monthly), the matrix is the single-frame path's, claim by claim."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features import monthly
from features.partitions import (
    FolderMonths,
    FrameMonths,
    months_of,
    split_by_month,
    write_partitioned,
)
from features.pipeline import build_training_matrix
from tests.test_pipeline import _rewrite_future


def _by_month(tables: dict[str, pd.DataFrame], cutoff=None):
    pipeline, rows = monthly.build_by_month(FrameMonths.of(tables), cutoff)
    return pd.concat(rows, ignore_index=True), pipeline


def assert_same_rows(whole: pd.DataFrame, by_month: pd.DataFrame) -> None:
    """Every column of every claim equal (categorical codes included), in any row order."""
    assert len(by_month) == len(whole)
    expected = whole.set_index("claim_id").loc[by_month["claim_id"]].reset_index()
    pd.testing.assert_frame_equal(by_month, expected, check_exact=True)


@pytest.fixture(scope="module")
def whole(small_world):
    return build_training_matrix(small_world[0])


def test_month_by_month_equals_the_whole_frame(small_world, whole):
    matrix, pipeline = _by_month(small_world[0])
    assert_same_rows(whole[0], matrix)
    assert pipeline.typical_charge_ == whole[1].typical_charge_
    assert pipeline.levels_ == whole[1].levels_ and pipeline.cutoff_ == whole[1].cutoff_


def test_the_snapshot_serves_what_the_whole_frames_does(small_world, whole):
    """Claims after the cutoff read the same history from either pipeline's snapshot."""
    tables = small_world[0]
    _, pipeline = _by_month(tables)
    claims = tables["claims"].tail(300)
    claims = claims.assign(submission_date=pipeline.cutoff_ + pd.Timedelta(days=3))
    lines = tables["claim_lines"][tables["claim_lines"]["claim_id"].isin(claims["claim_id"])]
    args = (claims, lines, tables["eligibility"])
    want = whole[1].transform_matrix(*args)
    assert np.isfinite(want).any()
    np.testing.assert_array_equal(pipeline.transform_matrix(*args), want)


def test_a_cutoff_is_honoured_month_by_month(small_world):
    tables = small_world[0]
    cutoff = tables["claims"]["submission_date"].quantile(0.7).normalize()
    matrix, pipeline = _by_month(tables, cutoff)
    expected, expected_pipeline = build_training_matrix(tables, cutoff)
    assert_same_rows(expected, matrix)
    assert pipeline.cutoff_ == expected_pipeline.cutoff_


def test_no_future_outcome_leaks_month_by_month(small_world, whole):
    """The leakage property of tests/test_pipeline.py, on this path: rewriting outcomes from a
    cut date on leaves the features of every claim submitted by then unchanged."""
    tables = small_world[0]
    names = list(whole[1].feature_names)
    base, _ = _by_month(tables)
    rng = np.random.default_rng(5)
    submitted = tables["claims"]["submission_date"]
    for cut in rng.choice(pd.date_range(submitted.min(), submitted.max()), 2, replace=False):
        cut = pd.Timestamp(cut)
        rewritten, _ = _by_month(_rewrite_future(tables, cut, rng))
        before = base["submission_date"] <= cut
        pd.testing.assert_frame_equal(rewritten.loc[before, names], base.loc[before, names])
        later = ~before
        changed = rewritten.loc[later, "hist_payer_rate"] != base.loc[later, "hist_payer_rate"]
        assert changed.any()  # and it can fail: later claims do see the rewritten outcomes


def test_a_partitioned_folder_round_trips(small_world, whole, tmp_path):
    tables, truth = small_world
    months = write_partitioned(tables, tmp_path, truth)
    assert months_of(tmp_path) == months
    assert (tmp_path / "months" / months[-1] / "claims.parquet").exists()
    _, rows = monthly.build_by_month(FolderMonths(tmp_path))
    assert_same_rows(whole[0], pd.concat(rows, ignore_index=True))


def test_a_row_without_a_claim_is_refused_by_name(small_world):
    tables = {k: v.copy() for k, v in small_world[0].items()}
    tables["remits"].loc[0, "claim_id"] = "C-NOT-THERE"
    with pytest.raises(ValueError, match="remits: claim C-NOT-THERE is not among the claims"):
        split_by_month(tables)


def test_a_world_drawn_month_by_month_is_valid_and_calibrated(tmp_path, monkeypatch):
    """generate --partitioned: every month passes validation, the matrix builds, and the
    first-pass denial rate is the world's (the pilot's calibration holds across months). Months
    are drawn in spans of days here (~500 claims a month, spans of 200), as a big world's are."""
    from typer.testing import CliRunner

    from features.codes import initial_outcomes
    from features.generate import WorldConfig, by_month, generate
    from features.generate.calibration import measure
    from serving.cli import app

    monkeypatch.setattr(by_month, "CHUNK_CLAIMS", 200)

    out = tmp_path / "world"
    args = ["generate", "--claims", "12000", "--seed", "9", "--partitioned", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "claims 12,000" in result.output
    data = FolderMonths(out)
    assert CliRunner().invoke(app, ["validate", str(out)]).exit_code == 0
    months = [data(m) for m in data.months()]
    tables = {n: pd.concat([m[n] for m in months], ignore_index=True) for n in months[0]}
    assert tables["claims"]["claim_id"].is_unique and tables["eligibility"]["response_id"].is_unique
    assert tables["appeals"]["appeal_id"].is_unique
    assert tables["claims"]["submission_date"].is_monotonic_increasing  # spans follow each other
    rate = initial_outcomes(tables["remits"], tables["remit_adjustments"])["denied"].mean()
    whole, _ = generate(WorldConfig(n_claims=12000, seed=9))
    assert abs(rate - measure(whole)["denial_rate.overall"]) < 0.015
    result = CliRunner().invoke(
        app, ["features", "--data", str(out), "--out", str(tmp_path / "matrix")]
    )
    assert result.exit_code == 0, result.output
    assert len(monthly.read_matrix(tmp_path / "matrix")) == 12000


def test_a_bad_month_is_reported_by_name(small_world, tmp_path):
    from typer.testing import CliRunner

    from serving.cli import app

    tables = {k: v.copy() for k, v in small_world[0].items()}
    tables["claim_lines"].loc[3, "units"] = -1.0
    write_partitioned(tables, tmp_path)
    submitted = tables["claims"].set_index("claim_id")["submission_date"]
    month = f"{submitted[tables['claim_lines'].loc[3, 'claim_id']]:%Y-%m}"
    result = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert (
        f"months/{month}/claim_lines.parquet" in result.output and "INVALID: 1 of" in result.output
    )
