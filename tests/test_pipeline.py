"""The feature pipeline: no future outcome leaks, serving equals training, unseen codes are fine."""

from __future__ import annotations

import io

import joblib
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.claim_features import FeatureInputError
from features.codes import initial_outcomes
from features.history import EventLog, daily_totals
from features.pipeline import FeaturePipeline, build_training_matrix, take_training_matrix
from features.registry import CATEGORICAL, FEATURE_NAMES, HISTORY_FEATURES
from serving.cli import app

HISTORY = [f.name for f in HISTORY_FEATURES]


@pytest.fixture(scope="module")
def matrix_and_pipeline(small_world):
    tables, _ = small_world
    return build_training_matrix(tables)


def _features(matrix: pd.DataFrame) -> pd.DataFrame:
    out = matrix[list(FEATURE_NAMES)].copy()
    for name in CATEGORICAL:  # compare level names, not codes
        out[name] = out[name].astype(object)
    return out


def _rewrite_future(
    tables: dict[str, pd.DataFrame], cut: pd.Timestamp, rng: np.random.Generator
) -> dict[str, pd.DataFrame]:
    """Delete some outcomes dated on or after ``cut`` and turn the rest into other outcomes."""
    t = {k: v.copy() for k, v in tables.items()}
    remits = t["remits"]
    # drop every remit (and appeal) of some claims first remitted on or after the cut, so that
    # the data stays valid (claimrisk validate passes it)
    first = remits.groupby("claim_id")["remit_date"].min()
    late = first.index[first >= cut]
    gone = set(late[rng.random(len(late)) < 0.3])
    drop = remits["claim_id"].isin(gone)
    dropped = set(remits.loc[drop, "remit_id"])
    t["remits"] = remits[~drop].reset_index(drop=True)
    t["appeals"] = t["appeals"][~t["appeals"]["claim_id"].isin(gone)].reset_index(drop=True)
    for name in ("remit_adjustments", "remit_remarks"):
        t[name] = t[name][~t[name]["remit_id"].isin(dropped)].reset_index(drop=True)
    # every remaining future remit becomes a zero-pay authorization denial
    changed = set(t["remits"].loc[t["remits"]["remit_date"] >= cut, "remit_id"])
    t["remits"].loc[t["remits"]["remit_id"].isin(changed), "paid_amount"] = 0.0
    adj = t["remit_adjustments"]
    adj.loc[adj["remit_id"].isin(changed), ["group_code", "carc"]] = ["CO", "197"]
    appeals = t["appeals"]
    late = appeals["appeal_date"] >= cut
    t["appeals"] = appeals[~(late & (rng.random(len(appeals)) < 0.5))].reset_index(drop=True)
    return t


def test_no_outcome_on_or_after_submission_changes_a_claims_features(
    small_world, matrix_and_pipeline
):
    """Property over random cut dates: rewriting the future leaves earlier claims untouched."""
    tables, _ = small_world
    base = _features(matrix_and_pipeline[0])
    submitted = tables["claims"]["submission_date"]
    rng = np.random.default_rng(3)
    days = pd.date_range(submitted.min() + pd.Timedelta(days=40), submitted.max(), freq="D")
    for cut in rng.choice(days, size=8, replace=False):
        cut = pd.Timestamp(cut)
        rewritten, _ = build_training_matrix(_rewrite_future(tables, cut, rng))
        before = (submitted <= cut).to_numpy()
        pd.testing.assert_frame_equal(
            _features(rewritten)[before].reset_index(drop=True),
            base[before].reset_index(drop=True),
            obj=f"features of claims up to {cut:%Y-%m-%d}",
        )


def test_rewriting_the_past_does_change_later_features(small_world, matrix_and_pipeline):
    """The mirror of the leakage test, so that it can fail: earlier outcomes do matter."""
    tables, _ = small_world
    base = _features(matrix_and_pipeline[0])
    cut = tables["claims"]["submission_date"].quantile(0.5)
    rewritten, _ = build_training_matrix(
        _rewrite_future(tables, cut - pd.Timedelta(days=365 * 5), np.random.default_rng(0))
    )
    later = (tables["claims"]["submission_date"] > cut).to_numpy()
    assert not np.allclose(
        _features(rewritten).loc[later, "hist_payer_rate"], base.loc[later, "hist_payer_rate"]
    )


def test_serving_transform_equals_the_training_row(small_world):
    """Claims of the last month, transformed alone with the snapshot, equal the batch rows."""
    tables, _ = small_world
    cutoff = tables["claims"]["submission_date"].max() - pd.Timedelta(days=30)
    matrix, pipeline = build_training_matrix(tables, cutoff=cutoff)
    recent = tables["claims"][tables["claims"]["submission_date"] >= cutoff]
    assert len(recent) > 100
    expected = _features(matrix).set_index(matrix["claim_id"])
    lines = tables["claim_lines"]
    by_claim = dict(tuple(lines.groupby("claim_id")))
    responses = tables["eligibility"]  # the responses on file, as serving would hold them
    for i, claim in enumerate(recent.itertuples(index=False)):
        one = recent[recent["claim_id"] == claim.claim_id]
        got = _features(pipeline.transform(one, by_claim[claim.claim_id], responses))
        want = expected.loc[[claim.claim_id]].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want, obj=f"claim {claim.claim_id}")
        if i >= 150:
            break
    recent_lines = lines[lines["claim_id"].isin(recent["claim_id"])]
    batch = _features(pipeline.transform(recent, recent_lines, responses))
    pd.testing.assert_frame_equal(batch, expected.loc[recent["claim_id"]].reset_index(drop=True))


def test_matrix_path_equals_frame_path_and_dict_input(small_world, matrix_and_pipeline):
    tables, _ = small_world
    _, pipeline = matrix_and_pipeline
    claims = tables["claims"].tail(50)
    lines = tables["claim_lines"][tables["claim_lines"]["claim_id"].isin(claims["claim_id"])]
    frame = pipeline.transform(claims, lines)
    codes = frame.copy()
    for name in CATEGORICAL:
        codes[name] = frame[name].cat.codes.replace(-1, np.nan)
    matrix = pipeline.transform_matrix(claims, lines)
    np.testing.assert_allclose(matrix, codes.to_numpy(dtype=float), equal_nan=True)
    as_json = {
        c: [
            None if pd.isna(v) else (v.strftime("%Y-%m-%d") if isinstance(v, pd.Timestamp) else v)
            for v in claims[c].tolist()
        ]
        for c in claims.columns
    }
    as_json["other_coverage"] = [str(v).lower() for v in claims["other_coverage"]]
    lines_json = {c: [None if pd.isna(v) else v for v in lines[c].tolist()] for c in lines.columns}
    np.testing.assert_allclose(
        pipeline.transform_matrix(as_json, lines_json), matrix, equal_nan=True
    )


def test_history_counts_and_windowed_rates_equal_a_count_by_hand(small_world, matrix_and_pipeline):
    """Per claim, by brute force: the payer's and provider's first-pass outcomes remitted strictly
    before the claim's submission, all time and in the window before it."""
    tables, _ = small_world
    matrix, pipeline = matrix_and_pipeline
    claims = tables["claims"]
    outcome = initial_outcomes(tables["remits"], tables["remit_adjustments"])
    known = claims.merge(outcome, on="claim_id")
    known["provider"] = known["rendering_npi"].fillna(known["billing_npi"])
    window = pd.Timedelta(days=pipeline.window_days)
    for i in np.random.default_rng(3).choice(len(claims), 60, replace=False):
        claim, row = claims.iloc[i], matrix.iloc[i]
        day = claim["submission_date"]
        before = known[known["remit_date"] < day]
        provider = (
            claim["rendering_npi"] if pd.notna(claim["rendering_npi"]) else claim["billing_npi"]
        )
        assert row["hist_payer_n"] == (before["payer_id"] == claim["payer_id"]).sum()
        assert row["hist_provider_n"] == (before["provider"] == provider).sum()
        recent = before[
            (before["remit_date"] >= day - window) & (before["payer_id"] == claim["payer_id"])
        ]
        glob = before["denied"].to_numpy(float)
        prior = (glob.sum() + pipeline.prior_weight * pipeline.prior_rate) / (
            len(glob) + pipeline.prior_weight
        )
        rate = (recent["denied"].sum() + pipeline.smoothing * prior) / (
            len(recent) + pipeline.smoothing
        )
        assert row["hist_payer_rate_90d"] == pytest.approx(rate)


def test_unseen_payer_procedure_and_diagnosis_give_a_valid_row(small_world, matrix_and_pipeline):
    tables, _ = small_world
    _, pipeline = matrix_and_pipeline
    claim = tables["claims"].tail(1).copy()
    lines = tables["claim_lines"][tables["claim_lines"]["claim_id"] == claim["claim_id"].iloc[0]]
    lines = lines.copy()
    claim["payer_id"] = "NEWPAYER9"
    claim["diagnosis_codes"] = "Q999"
    claim["billing_npi"] = "1999999991"
    claim["rendering_npi"] = None
    lines["procedure_code"] = "97799"  # unseen code, of a family the pipeline knows
    row = pipeline.transform(claim, lines).iloc[0]
    for name in (
        "payer_id",
        "payer_type",
        "primary_procedure",
        "primary_diagnosis",
        "provider_npi",
    ):
        assert pd.isna(row[name]), name
    assert row["primary_diagnosis_chapter"] == "17_congenital" or pd.isna(
        row["primary_diagnosis_chapter"]
    )
    assert row["primary_procedure_family"] == "physical_medicine"
    assert np.isfinite(row[HISTORY].astype(float)).all()
    assert row["hist_payer_n"] == 0 and row["hist_provider_n"] == 0
    assert np.isnan(row["days_to_filing_limit"])  # no known limit for an unknown payer


def test_orphan_lines_and_missing_columns_are_clear_errors(small_world, matrix_and_pipeline):
    tables, _ = small_world
    _, pipeline = matrix_and_pipeline
    claim = tables["claims"].tail(1)
    lines = tables["claim_lines"].head(1)
    with pytest.raises(FeatureInputError, match="not in the batch"):
        pipeline.transform(claim, lines)
    with pytest.raises(FeatureInputError, match="'payer_id'"):
        pipeline.transform(claim.drop(columns="payer_id"), lines)


def test_pipeline_survives_a_joblib_round_trip(small_world, matrix_and_pipeline):
    tables, _ = small_world
    _, pipeline = matrix_and_pipeline
    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    claims = tables["claims"].tail(20)
    lines = tables["claim_lines"][tables["claim_lines"]["claim_id"].isin(claims["claim_id"])]
    pd.testing.assert_frame_equal(
        loaded.transform(claims, lines), pipeline.transform(claims, lines)
    )
    assert list(loaded.get_feature_names_out()) == list(FEATURE_NAMES)


def test_refresh_moves_history_and_keeps_levels(small_world):
    tables, _ = small_world
    early = tables["claims"]["submission_date"].quantile(0.5)
    _, pipeline = build_training_matrix(tables, cutoff=early)
    levels = pipeline.categories_
    claims = tables["claims"].tail(30)
    lines = tables["claim_lines"][tables["claim_lines"]["claim_id"].isin(claims["claim_id"])]
    before = pipeline.transform(claims, lines)
    pipeline.refresh(tables)
    after = pipeline.transform(claims, lines)
    assert pipeline.categories_ == levels
    assert (after["hist_payer_n"] > before["hist_payer_n"]).all()
    fresh = FeaturePipeline().fit(tables)
    np.testing.assert_allclose(
        after[HISTORY].to_numpy(float), fresh.transform(claims, lines)[HISTORY].to_numpy(float)
    )


def test_event_log_is_strictly_before_and_compaction_is_exact():
    rng = np.random.default_rng(7)
    keys = rng.integers(0, 5, 3_000)
    days = rng.integers(100, 400, 3_000).astype(float)
    counts = np.zeros((3_000, 13))
    counts[:, 0] = 1
    counts[:, 1] = rng.random(3_000) < 0.2
    log = EventLog.from_events(keys, days, counts)
    qk, qd = rng.integers(-1, 6, 500), rng.integers(90, 420, 500).astype(float)
    got = log.as_of(qk, qd)
    for k, d, row in zip(qk, qd, got, strict=True):
        mask = (keys == k) & (days < d)
        assert row[0] == mask.sum() and row[1] == counts[mask, 1].sum()
    cutoff, window = 350, 90
    small = log.compact(cutoff, window)
    assert len(small.keys) < len(log.keys)
    late = qd >= cutoff
    for shift in (0, window):
        np.testing.assert_array_equal(
            small.as_of(qk[late], qd[late] - shift), log.as_of(qk[late], qd[late] - shift)
        )


def test_daily_totals_are_exact_and_widen_past_int32():
    """Counts are int32 while they fit and int64 once a carried total would not (a
    clearinghouse's global key): never a wrapped count."""
    keys = np.array([0, 1, 0, 1, 0, -1])
    days = np.array([5.0, 5.0, 5.0, 6.0, np.nan, 5.0])
    counts = np.array([[1, 0], [1, 1], [1, 1], [1, 0], [1, 1], [1, 1]], dtype=np.int32)
    k, d, totals = daily_totals(keys, days, counts)
    np.testing.assert_array_equal(k, [0, 1, 1])
    np.testing.assert_array_equal(d, [5, 5, 6])
    np.testing.assert_array_equal(totals, [[2, 1], [1, 1], [1, 0]])
    assert totals.dtype == np.int32
    big = np.array([[2**31 - 1], [5]], dtype=np.int64)
    _, _, wide = daily_totals(np.array([3, 3]), np.array([9.0, 9.0]), big)
    assert wide.dtype == np.int64 and wide[0, 0] == 2**31 + 4


def test_labels_follow_the_denial_rule(matrix_and_pipeline, small_world):
    matrix, _ = matrix_and_pipeline
    tables, _ = small_world
    no_remit = ~matrix["claim_id"].isin(tables["remits"]["claim_id"])
    assert matrix.loc[no_remit, "label_denied"].isna().all()
    denied = matrix["label_denied"] == 1
    assert matrix.loc[denied, "label_category"].notna().all()
    assert matrix.loc[~denied, "label_category"].isna().all()
    assert matrix.loc[matrix["label_appealed"] == 1, "label_denied"].eq(1).all()
    won = matrix["label_overturned"] == 1
    assert (matrix.loc[won, "label_recovered_amount"] > 0).all()
    assert matrix.loc[matrix["label_overturned"] == 0, "label_recovered_amount"].eq(0).all()


def test_features_cli_writes_the_matrix(small_dataset_dir, tmp_path):
    out = tmp_path / "matrix.parquet"
    result = CliRunner().invoke(
        app, ["features", "--data", str(small_dataset_dir), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    matrix = pd.read_parquet(out)
    assert list(matrix.columns[:2]) == ["claim_id", "submission_date"]
    assert list(matrix.columns[2 : 2 + len(FEATURE_NAMES)]) == list(FEATURE_NAMES)
    assert {"label_denied", "label_category", "label_overturned", "label_recovered_amount"} <= set(
        matrix.columns
    )
    assert f"{len(FEATURE_NAMES)} features" in result.output


def test_taking_the_tables_builds_the_same_matrix_and_leaves_the_callers_alone(
    small_world, matrix_and_pipeline
):
    """The CLI hands its tables over so that each is freed once read; a library caller's dict
    (``build_training_matrix``) keeps every table."""
    tables = small_world[0]
    names = set(tables)
    taken = dict(tables)
    matrix, _ = take_training_matrix(taken)
    pd.testing.assert_frame_equal(matrix, matrix_and_pipeline[0])
    assert set(taken) == {"payers"}  # the only table read after the features are made
    assert set(tables) == names


def test_the_point_in_time_matrix_of_some_claims_equals_their_rows_of_the_whole(
    small_world, matrix_and_pipeline
):
    """Monitoring asks for a few claims' features; history still comes from all of them."""
    tables = small_world[0]
    pipeline = matrix_and_pipeline[1]
    whole = pipeline.point_in_time_matrix(tables)
    rows = np.random.default_rng(1).choice(len(tables["claims"]), 500, replace=False)
    some = pipeline.point_in_time_matrix(tables, rows)
    np.testing.assert_array_equal(some, whole[np.sort(rows)])
    # the outcomes handed in, as the monitor hands them (one row per claim, in the claims' order)
    outcome = initial_outcomes(tables["remits"], tables["remit_adjustments"])
    per_claim = outcome.set_index("claim_id").reindex(tables["claims"]["claim_id"])
    given = pipeline.point_in_time_matrix(tables, rows, per_claim.reset_index())
    np.testing.assert_array_equal(given, some)
