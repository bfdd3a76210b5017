"""``claimrisk retrain``: a challenger only when the monitoring pass or the schedule calls for
it, trained on the recent window as known that day, promoted only through the gate."""

from __future__ import annotations

import json

import pandas as pd
from mlflow import MlflowClient
from typer.testing import CliRunner

from features.as_of import known_by
from features.io import load_dataset, write_dataset
from serving.cli import app
from training import tracking
from training.monitor.retrain import triggers
from training.run import promote, train


def _pass(alerts=(), findings=(), months=()) -> dict:
    return {"alerts": list(alerts), "drift": {"findings": list(findings)},
            "performance": {"months": list(months)}}  # fmt: skip


def test_only_alerts_major_drift_or_a_stale_month_trigger():
    quiet_month = {"month": "2025-10", "claims": 900, "decided": 890,
                   "estimated_roc_auc": 0.84, "realised_roc_auc": 0.83}  # fmt: skip
    moderate = {"scope": "all payers", "what": "feature x", "psi": 0.2, "level": "moderate"}
    assert triggers(_pass(findings=[moderate], months=[quiet_month])) == []
    stale = {**quiet_month, "realised_roc_auc": 0.79}
    unripe = {**stale, "decided": 300}  # outcomes still arriving: not judged yet
    assert triggers(_pass(months=[unripe])) == []
    (why,) = triggers(_pass(months=[stale]))
    assert why.startswith("performance: 2025-10 realised ROC AUC 0.790")
    major = {**moderate, "psi": 0.4, "level": "major"}
    alert = {"says": "COM01: authorization denials on 97110 rose from 1% to 20%"}
    got = triggers(_pass(alerts=[alert], findings=[major]))
    assert got == [f"alert: {alert['says']}", "drift: all payers, feature x (PSI 0.40)"]


def test_a_scheduled_retrain_fits_on_the_window_and_goes_through_the_gate(
    small_world, small_dataset_dir, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # the window is written under ./data
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    first_half = tmp_path / "first-half"
    write_dataset(known_by(small_world[0], pd.Timestamp("2025-06-30")), first_half)
    champion = train(first_half, tmp_path / "champion", uri, echo=lambda _: None)
    assert promote(champion.model_uri, first_half, uri).promoted
    result = CliRunner().invoke(
        app,
        ["retrain", "--data", str(small_dataset_dir), "--as-of", "2025-12-31", "--every-days", "90",
         "--tracking-uri", uri, "--out", str(tmp_path / "challenger")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "challenger" / "retrain.json").read_text())
    assert any(
        r.startswith("schedule: the champion's data ends 2025-06-30")
        for r in report["triggered_by"]
    )
    assert report["window"]["from"] == "2025-01-01" and report["window"]["to"] == "2025-12-31"
    window, _ = load_dataset(tmp_path / report["data"])
    assert window["claims"]["submission_date"].min() >= pd.Timestamp("2025-01-01")
    gate = report["promotion"]
    assert gate["version"] == "2" and gate["champion_version"] == "1"
    tracking.use_store(uri)
    alias = MlflowClient().get_model_version_by_alias(tracking.REGISTERED_NAME, tracking.CHAMPION)
    assert str(alias.version) == ("2" if gate["promoted"] else "1")
    assert gate["promoted"] == (gate["challenger"] > gate["champion"])
