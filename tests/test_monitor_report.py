"""``claimrisk monitor`` end to end: from files and from a store, JSON, HTML and the kept run;
and the estimate against the realised ROC AUC on months whose outcomes have all arrived."""

from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import select
from typer.testing import CliRunner

from features.x12.write import write_x12
from serving.cli import app
from store import schema
from store.db import engine
from store.load import load_x12
from store.migrate import upgrade
from store.monitoring import latest_run
from training.monitor.report import monitor

ALERT_FIELDS = {"payer_id", "procedure_codes", "category", "started_on", "detected_on", "kind"}


def test_the_command_writes_the_pass_as_json_and_html(trained, small_dataset_dir, tmp_path):
    out, page = tmp_path / "monitor.json", tmp_path / "monitor.html"
    result = CliRunner().invoke(
        app,
        ["monitor", "--model", str(trained[0].folder), "--data", str(small_dataset_dir),
         "--as-of", "2025-12-01", "--json", str(out), "--html", str(page)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    got = json.loads(out.read_text())
    assert got["as_of"] == "2025-12-01" and isinstance(got["alerts"], list)
    assert all(set(a) >= ALERT_FIELDS for a in got["alerts"])
    recent = got["performance"]["recent"]
    assert recent["claims"] > 100 and 0.5 < recent["estimated_roc_auc"] < 1
    assert {t["payer_type"] for t in got["performance"]["payer_types"]} >= {"commercial"}
    assert {c["category"] for c in got["performance"]["categories"]} >= {"authorization"}
    assert got["drift"]["features"] and "findings" in got["drift"] and got["notes"] == []
    assert "estimated ROC AUC" in result.output and "drift finding" in result.output
    html = page.read_text()
    assert "claimrisk monitor as of 2025-12-01" in html and "estimated ROC AUC" in html


def test_the_command_needs_exactly_one_source(trained, small_dataset_dir):
    result = CliRunner().invoke(
        app, ["monitor", "--model", str(trained[0].folder), "--as-of", "2025-12-01"]
    )
    assert result.exit_code == 2 and "either --data DIR or --db URL" in result.output


def test_from_a_store_the_pass_is_kept_and_audited(trained, small_world, tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    eng = engine(url)
    upgrade(eng)
    load_x12(eng, write_x12(small_world[0], tmp_path / "x12"), "test", lambda _: None)
    result = CliRunner().invoke(
        app,
        ["monitor", "--model", str(trained[0].folder), "--db", url, "--as-of", "2025-11-01"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "kept in the store as monitor run 1" in result.output
    # the store keeps no 271s: said once, and the eligibility inputs are not judged for drift
    assert "note: no eligibility responses (271s) in the data" in result.output
    with eng.connect() as conn:
        run = latest_run(conn)
        audit = conn.execute(
            select(schema.audit_log).where(schema.audit_log.c.entity == "monitor_run")
        ).all()
    assert run["run_id"] == 1 and run["as_of"] == "2025-11-01"
    assert run["performance"]["recent"]["claims"] > 100
    judged = {f["feature"] for f in run["drift"]["features"]}
    assert judged and "eligibility_coverage" not in judged
    assert len(audit) == 1 and audit[0].action == "monitor"
    eng.dispose()


def test_the_estimate_is_close_to_the_realised_auc_once_outcomes_are_in(trained, small_world):
    """Months whose outcomes have all arrived, no change in the world: the estimate from the
    calibrated probabilities lands near what the outcomes show (0.01 on the 300k bench world;
    a looser bound here, where a month holds 250 claims)."""
    tables = small_world[0]
    result = monitor(trained[0].model, tables, pd.Timestamp("2025-12-31"), 90)
    done = [m for m in result["performance"]["months"] if m["decided"] >= 0.95 * m["claims"]]
    assert done
    est = sum(m["estimated_roc_auc"] * m["claims"] for m in done) / sum(m["claims"] for m in done)
    real = sum(m["realised_roc_auc"] * m["claims"] for m in done) / sum(m["claims"] for m in done)
    assert abs(est - real) < 0.05
