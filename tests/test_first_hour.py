"""A new user's first hour: the things a newcomer tries after the README, each once broken."""

from __future__ import annotations

import copy
import re

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from features.validate import validate_frames
from serving.app import create_app
from serving.cli import app as cli
from serving.settings import Settings
from serving.state import load
from training import examples
from training.worklist import WRITE_OFF_BELOW_PER_HOUR, within_capacity

KEY = {"X-API-Key": "k"}


@pytest.fixture(scope="module")
def client(trained):
    with TestClient(create_app(Settings(api_keys="k"), load(str(trained[0].folder)))) as c:
        yield c


def test_version():
    r = CliRunner().invoke(cli, ["--version"])
    assert r.exit_code == 0 and r.output.startswith("claimrisk ")


def test_a_dotted_icd10_code_is_refused_with_the_fix(client, tables):
    claim = {**copy.deepcopy(examples.CLAIM), "diagnosis_codes": "M54.50|M62.81"}
    r = client.post("/v1/claims/score", json={"claims": [claim]}, headers=KEY)
    assert r.status_code == 422
    problem = r.json()["errors"][0]["problem"]
    assert "remove the dots: M5450|M6281" in problem and "^(?:" not in problem
    tables["claims"].loc[0, "diagnosis_codes"] = "M54.50"
    report = validate_frames(tables)[2]
    text = report.render()
    assert "remove the dots: M5450" in text and "ICD-10-CM codes without dots" in text


def test_a_total_that_differs_from_its_lines_names_both_amounts(client, tables):
    claim = {**copy.deepcopy(examples.CLAIM), "total_charge": 999.0}
    r = client.post("/v1/claims/score", json={"claims": [claim]}, headers=KEY)
    assert "total_charge 999.00, lines sum to 360.00" in r.json()["errors"][0]["problem"]
    tables["claims"].loc[0, "total_charge"] += 1
    text = validate_frames(tables)[2].render()
    assert "lines sum to" in text


def test_write_offs_take_no_capacity_and_say_why(client):
    body = copy.deepcopy(examples.RANK_REQUEST)
    cheap = copy.deepcopy(body["denials"][0])
    cheap["claim"]["claim_id"], cheap["denied_amount"] = "C-CHEAP", 1.0
    late = copy.deepcopy(body["denials"][1])
    late["claim"]["claim_id"], late["denial_date"] = "C-LATE", "2024-01-05"
    body["denials"] += [cheap, late]
    body["capacity"] = 1
    items = {
        i["claim_id"]: i
        for i in client.post("/v1/worklist/rank", json=body, headers=KEY).json()["items"]
    }
    for claim_id in ("C-CHEAP", "C-LATE"):
        assert items[claim_id]["next_step"] == "write_off"
        assert items[claim_id]["within_capacity"] is False
    assert f"${WRITE_OFF_BELOW_PER_HOUR:,.0f} per hour" in items["C-CHEAP"]["reason"]
    assert "deadline passed" in items["C-LATE"]["reason"]
    assert sum(i["within_capacity"] for i in items.values()) == 1  # capacity counts workable items


def test_capacity_is_spent_in_working_order_on_workable_items():
    order = np.array([2, 0, 1, 3])
    steps = np.array(
        ["appeal_with_documentation", "write_off", "corrected_claim", "corrected_claim"]
    )
    got = within_capacity(order, steps, 2)
    # in order: item 2 (work, 1st), item 0 (work, 2nd), item 1 (a write-off), item 3 (3rd)
    assert list(got) == [True, False, True, False]


def test_score_and_rank_read_a_dataset_folder(trained, small_dataset_dir, tmp_path):
    folder = str(trained[0].folder)
    out = tmp_path / "scores.parquet"
    r = CliRunner().invoke(
        cli,
        [
            "score",
            "--model",
            folder,
            "--data",
            str(small_dataset_dir),
            "--out",
            str(out),
            "--skip-invalid",
        ],
    )
    assert r.exit_code == 0, r.output
    scores = pd.read_parquet(out)
    assert len(scores) == 6_000 and (scores["status"] == "scored").all()
    ranked = tmp_path / "ranked.csv"
    r = CliRunner().invoke(
        cli,
        [
            "rank",
            "--model",
            folder,
            "--data",
            str(small_dataset_dir),
            "--as-of",
            "2025-01-01",
            "--out",
            str(ranked),
        ],
    )
    assert r.exit_code == 0, r.output
    items = pd.read_csv(ranked)
    assert len(items) > 50 and list(items["priority"]) == list(range(1, len(items) + 1))
    assert CliRunner().invoke(cli, ["score", "--model", folder, "--out", str(out)]).exit_code == 2


def test_the_gate_refuses_another_population(trained, small_world):
    from features.generate import WorldConfig, generate
    from training.run import unfair

    champion = trained[0].model
    assert unfair(champion, small_world[0]) == ""  # its own population
    other, _ = generate(WorldConfig(n_claims=2_000, seed=99))  # a world of other providers
    reason = unfair(champion, other)
    assert "another population" in reason and "provider" in reason


def test_promote_judges_on_the_challengers_own_data_by_default(trained):
    from training.run import promote

    result, uri = trained
    judged = promote(result.model_uri, tracking_uri=uri)
    assert str(judged.data) == result.model.metadata["data"] and not judged.refused


def test_tune_writes_only_searched_params_that_beat_the_defaults(small_dataset_dir, tmp_path):
    import json

    out = tmp_path / "params.json"
    r = CliRunner().invoke(
        cli, ["tune", "--data", str(small_dataset_dir), "--trials", "3", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    found = re.search(r"defaults ([\d.]+), best of 3 trials ([\d.]+)", r.output)
    defaults, best = float(found.group(1)), float(found.group(2))
    if best < defaults:
        params = json.loads(out.read_text())["denial"]
        assert "num_threads" not in params and "objective" not in params
    else:
        assert not out.exists() and "nothing written" in r.output


def test_a_registered_model_loads_from_a_moved_store(trained, small_world, tmp_path):
    import shutil

    import mlflow

    from training import tracking
    from training.bundle import load_bundle

    result, _ = trained
    before = tmp_path / "laptop" / "mlruns"
    uri = tracking.use_store(f"sqlite:///{before / 'mlflow.db'}")
    tables, _ = small_world
    example = tracking.json_shaped(
        tracking.flatten(tables["claims"].head(1), tables["claim_lines"].head(1))
    )
    with mlflow.start_run():
        model_uri = tracking.log_model(result.model, result.folder, example)
    tracking.register(model_uri)
    after = tmp_path / "image" / "mlruns"
    shutil.move(str(before.parent), str(after.parent))  # e.g. copied into the Docker image
    assert not before.exists() and uri
    model = load_bundle("models:/claimrisk/1", f"sqlite:///{after / 'mlflow.db'}")
    assert model.metadata["versions"] == result.model.metadata["versions"]
