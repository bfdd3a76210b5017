"""Training: real LightGBM fits on a small world, a real MLflow store in a temp dir."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.contract import DENIAL_CATEGORIES
from features.registry import FEATURE_NAMES
from serving.cli import app
from training import metrics as m
from training import tracking
from training.calibration import choose_calibrator
from training.model import ClaimriskModel
from training.run import evaluate_on, promote
from training.worklist import priority_order


def test_training_writes_a_bundle_report_and_flat_metrics(trained):
    result, _ = trained
    for name in ("model.joblib", "metadata.json", "report.md", "metrics.json", "shap_summary.png"):
        assert (result.folder / name).exists(), name
    metrics = json.loads((result.folder / "metrics.json").read_text())
    required = [
        "denial.roc_auc",
        "denial.oracle_roc_auc",
        "denial.ece",
        "category.top1_accuracy",
        "category.oracle_top1_accuracy",
        "recovery.roc_auc",
        "recovery.oracle_roc_auc",
        "worklist.captured_value_at_20pct",
        "worklist.oracle_captured_value_at_20pct",
        "worklist.fifo_captured_value_at_20pct",
    ]
    for key in required:
        assert isinstance(metrics[key], float) and np.isfinite(metrics[key]), key
    # even on 6,000 claims the model must beat chance clearly and stay calibrated
    assert metrics["denial.roc_auc"] > 0.7
    # ~800 report claims: ECE's sampling noise alone is a few points; compare with the oracle's
    assert metrics["denial.ece"] < metrics["denial.oracle_ece"] + 0.04
    assert metrics["denial.oracle_roc_auc"] >= metrics["denial.roc_auc"] - 0.02
    assert (
        metrics["worklist.captured_value_at_20pct"]
        > metrics["worklist.fifo_captured_value_at_20pct"]
    )
    report = (result.folder / "report.md").read_text()
    assert "oracle" in report and "logistic regression" in report


def test_time_windows_do_not_overlap_and_report_is_most_recent(trained):
    windows = trained[0].model.metadata["windows"]
    assert windows["start"] < windows["valid_start"] < windows["report_start"] <= windows["end"]


def test_registered_model_predicts_like_the_in_memory_model(trained, small_world):
    result, uri = trained
    tables, _ = small_world
    tracking.use_store(uri)
    claims = tables["claims"].tail(40)
    lines = tables["claim_lines"][tables["claim_lines"]["claim_id"].isin(claims["claim_id"])]
    x = result.model.features(claims, lines)
    p = result.model.denial_probability(x)
    top = result.model.category_probabilities(x).argmax(axis=1)
    expected = {
        "denial_probability": p,
        "risk_band": list(result.model.risk_band(p)),
        "category_1": [DENIAL_CATEGORIES[k] for k in top],
    }

    version = tracking.register(result.model_uri)
    loaded = mlflow.pyfunc.load_model(f"models:/{tracking.REGISTERED_NAME}/{version.version}")
    got = loaded.predict(tracking.json_shaped(tracking.flatten(claims, lines)))
    assert list(got["claim_id"]) == list(claims["claim_id"])
    np.testing.assert_allclose(got["denial_probability"], expected["denial_probability"], atol=1e-6)
    assert list(got["risk_band"]) == list(expected["risk_band"])
    assert list(got["category_1"]) == list(expected["category_1"])


def test_evaluating_a_saved_model_reproduces_its_training_metrics(trained, small_world):
    result, _ = trained
    tables, truth = small_world
    again = evaluate_on(ClaimriskModel.load(result.folder), tables, truth)
    for key in ("denial.roc_auc", "category.top1_accuracy", "recovery.roc_auc"):
        assert again[key] == pytest.approx(result.metrics[key], abs=1e-9), key


def test_promote_moves_champion_only_when_better(trained, small_dataset_dir, monkeypatch):
    result, uri = trained
    first = promote(result.model_uri, small_dataset_dir, tracking_uri=uri)
    client = mlflow.MlflowClient(uri)
    if first.champion is None:
        assert first.promoted
    # the same model again is not better than itself: no move without --force
    second = promote(result.model_uri, small_dataset_dir, tracking_uri=uri)
    assert not second.promoted and second.champion == pytest.approx(second.challenger)
    champion = client.get_model_version_by_alias(tracking.REGISTERED_NAME, tracking.CHAMPION)
    assert str(champion.version) != second.version
    forced = promote(result.model_uri, small_dataset_dir, tracking_uri=uri, force=True)
    assert forced.promoted
    champion = client.get_model_version_by_alias(tracking.REGISTERED_NAME, tracking.CHAMPION)
    assert str(champion.version) == forced.version


def test_scores_are_probabilities_and_categories_sum_to_one(trained, small_world):
    model = trained[0].model
    tables, _ = small_world
    claims = tables["claims"].head(200)
    lines = tables["claim_lines"][tables["claim_lines"]["claim_id"].isin(claims["claim_id"])]
    x = model.features(claims, lines)
    assert x.shape == (200, len(FEATURE_NAMES))
    p = model.denial_probability(x)
    assert ((p > 0) & (p < 1)).all()
    cats = model.category_probabilities(x)
    np.testing.assert_allclose(cats.sum(axis=1), 1.0, rtol=1e-6)
    assert cats.shape[1] == len(DENIAL_CATEGORIES)
    contrib = model.denial_contributions(x[:5])
    raw = model.denial.predict(x[:5], raw_score=True)
    np.testing.assert_allclose(contrib.sum(axis=1), raw, rtol=1e-6)


def test_worklist_puts_expired_last_and_deadlines_first_among_near_equals():
    expected = np.array([100.0, 100.0, 5000.0, 104.0, 9000.0])
    hours = np.ones(5)
    days_left = np.array([200.0, 5.0, 30.0, 100.0, -1.0])
    order = priority_order(expected, hours, days_left)
    assert order[0] == 2  # most dollars per hour
    assert order[-1] == 4  # expired, however large
    assert list(order[1:3]) == [1, 3]  # near-equals: the one due in 5 days first
    ranked_0 = list(order).index(0)
    assert ranked_0 == 3  # same value as item 1 but 200 days left


def test_calibrator_is_chosen_by_measurement():
    rng = np.random.default_rng(0)
    truth = rng.uniform(0.01, 0.6, 4000)
    y = (rng.random(4000) < truth).astype(float)
    squashed = truth**2  # monotone but miscalibrated
    cal, briers = choose_calibrator(squashed, y)
    assert cal.method in ("platt", "isotonic")
    assert briers[cal.method] < briers["identity"]
    assert m.expected_calibration_error(y, cal(squashed)) < m.expected_calibration_error(
        y, squashed
    )


def test_metrics_behave_on_known_inputs():
    y = np.array([0, 0, 1, 1], dtype=float)
    assert m.roc_auc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert np.isnan(m.roc_auc(np.zeros(3), np.ones(3)))
    assert m.expected_calibration_error(y, np.full(4, 0.5), bins=1) == pytest.approx(0.0)
    assert m.expected_calibration_error(y, np.full(4, 0.5), bins=4) == pytest.approx(0.5)
    assert m.recall_at(np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 1.0]), np.arange(10.0)) == 0.5
    assert m.captured_share(np.array([10.0, 0, 0, 0, 0]), np.array([0, 1, 2, 3, 4])) == 1.0


def test_cli_train_evaluate_promote_and_tune(small_dataset_dir, tmp_path):
    runner = CliRunner()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    out = tmp_path / "models" / "cli"
    result = runner.invoke(
        app,
        ["train", "--data", str(small_dataset_dir), "--out", str(out), "--tracking-uri", uri],
    )
    assert result.exit_code == 0, result.output
    assert "denial ROC AUC" in result.output and "MLflow" in result.output
    assert json.loads((out / "metadata.json").read_text())["model_uri"].startswith("models:/")
    result = runner.invoke(
        app,
        ["promote", "--model", str(out), "--data", str(small_dataset_dir), "--tracking-uri", uri],
    )
    assert result.exit_code == 0, result.output
    assert "champion -> version 1" in result.output
    report = tmp_path / "eval.json"
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--model",
            "models:/claimrisk@champion",
            "--data",
            str(small_dataset_dir),
            "--json",
            str(report),
            "--tracking-uri",
            uri,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "denial.roc_auc" in json.loads(report.read_text())
    params = tmp_path / "params.json"
    result = runner.invoke(
        app, ["tune", "--data", str(small_dataset_dir), "--trials", "2", "--out", str(params)]
    )
    assert result.exit_code == 0, result.output
    assert "num_leaves" in json.loads(params.read_text())["denial"]


def test_cli_train_on_a_missing_folder_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["train", "--data", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "error:" in result.output and "Traceback" not in result.output


def test_flat_input_without_lines_is_a_clear_error():
    with pytest.raises(ValueError, match="one row per claim line"):
        tracking.unflatten(pd.DataFrame({"claim_id": ["C1"]}))
