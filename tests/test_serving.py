"""The service over HTTP: the real app (TestClient) and one real uvicorn process on 127.0.0.1."""

from __future__ import annotations

import copy
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from serving.app import create_app
from serving.cli import app as cli
from serving.settings import Settings
from serving.state import load
from training import examples, explain
from training.tracking import flatten

KEY = "test-key-1"
AUTH = {"X-API-Key": KEY}


@pytest.fixture(scope="module")
def client(trained):
    result, _ = trained
    settings = Settings(api_keys=f"{KEY},other", admin_keys="admin-key", max_body_bytes=2_000_000)
    with TestClient(create_app(settings, load(str(result.folder)))) as c:
        yield c


def _claim_json(tables: dict, claim_id: str) -> dict:
    claims, lines = tables["claims"], tables["claim_lines"]
    header = claims[claims["claim_id"] == claim_id].iloc[0].to_dict()
    out = {
        k: (
            None
            if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT
            else (v.strftime("%Y-%m-%d") if hasattr(v, "strftime") else v)
        )
        for k, v in header.items()
    }
    out["other_coverage"] = bool(out["other_coverage"])
    out["patient_age"] = int(out["patient_age"])
    rows = lines[lines["claim_id"] == claim_id].drop(columns="claim_id").to_dict("records")
    out["lines"] = [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
        for r in rows
    ]
    for line in out["lines"]:
        line["line_number"] = int(line["line_number"])
    return out


def test_the_openapi_example_scores_as_it_stands(client):
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/v1/claims/score"]["post"]["requestBody"]["content"]
    example = next(iter(body["application/json"]["examples"].values()))["value"]
    r = client.post("/v1/claims/score", json=example, headers=AUTH)
    assert r.status_code == 200, r.text
    score = r.json()["scores"][0]
    assert 0 < score["denial_probability"] < 1
    assert score["risk_band"] in ("low", "medium", "high")
    assert len(score["likely_categories"]) == 3
    assert score["factors"] and all(f["reason"] and f["action"] for f in score["factors"])
    assert not any("nan" in f["reason"].split() for f in score["factors"])
    rank = schema["paths"]["/v1/worklist/rank"]["post"]["requestBody"]["content"]
    example = next(iter(rank["application/json"]["examples"].values()))["value"]
    r = client.post("/v1/worklist/rank", json=example, headers=AUTH)
    assert r.status_code == 200, r.text
    assert [i["priority"] for i in r.json()["items"]] == [1, 2]


def test_http_scores_equal_the_model_and_the_batch(client, trained, small_world):
    result, _ = trained
    tables, _ = small_world
    ids = tables["claims"]["claim_id"].tail(300).tolist()
    body = {"claims": [_claim_json(tables, i) for i in ids], "explain": "none"}
    r = client.post("/v1/claims/score", json=body, headers=AUTH)
    assert r.status_code == 200
    got = np.array([s["denial_probability"] for s in r.json()["scores"]])
    claims = tables["claims"][tables["claims"]["claim_id"].isin(ids)]
    lines = tables["claim_lines"][tables["claim_lines"]["claim_id"].isin(ids)]
    expected = result.model.denial_probability(result.model.features(claims, lines))
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert all("factors" not in s for s in r.json()["scores"])


def test_flagged_claims_get_factors_by_default(client, small_world):
    tables, _ = small_world
    ids = tables["claims"]["claim_id"].tail(200).tolist()
    r = client.post(
        "/v1/claims/score", json={"claims": [_claim_json(tables, i) for i in ids]}, headers=AUTH
    )
    scores = r.json()["scores"]
    flagged = [s for s in scores if s["risk_band"] != "low"]
    assert flagged and all("factors" in s and s["actions"] is not None for s in flagged)
    assert all("factors" not in s for s in scores if s["risk_band"] == "low")


def test_unknown_codes_are_scored_and_flagged(client):
    claim = copy.deepcopy(examples.CLAIM)
    claim["payer_id"] = "NEWPAYER9"
    claim["lines"][0]["procedure_code"] = "0999T"
    claim["diagnosis_codes"] = "Z9989|M5450"
    r = client.post("/v1/claims/score", json={"claims": [claim]}, headers=AUTH)
    assert r.status_code == 200
    flags = r.json()["scores"][0]["unknown_codes"]
    assert "payer_id=NEWPAYER9" in flags
    assert "procedure_code=0999T" in flags
    assert "diagnosis_code=Z9989" in flags


def test_missing_or_wrong_key_is_401(client):
    assert client.post("/v1/claims/score", json=examples.SCORE_REQUEST).status_code == 401
    r = client.post("/v1/claims/score", json=examples.SCORE_REQUEST, headers={"X-API-Key": "x"})
    assert r.status_code == 401 and "X-API-Key" in r.json()["detail"]
    assert client.get("/v1/model").status_code == 401
    # an ordinary key cannot reload: it is known (403, not 401), and an unknown one is 401
    assert client.post("/v1/admin/reload", headers=AUTH).status_code == 403
    assert client.post("/v1/admin/reload", headers={"X-API-Key": "x"}).status_code == 401


def test_oversize_body_is_413(client):
    big = {"claims": [examples.CLAIM] * 3000}
    r = client.post("/v1/claims/score", json=big, headers=AUTH)
    assert r.status_code == 413
    assert "fewer claims" in r.json()["detail"]


def test_batch_limit_is_enforced(trained):
    settings = Settings(api_keys=KEY, max_batch=2)
    with TestClient(create_app(settings, load(str(trained[0].folder)))) as c:
        r = c.post("/v1/claims/score", json={"claims": [examples.CLAIM] * 3}, headers=AUTH)
    assert r.status_code == 413 and "at most 2" in r.json()["detail"]


def test_malformed_bodies_are_422_with_claim_and_field(client):
    bad = copy.deepcopy(examples.CLAIM)
    bad["claim_id"] = "C-BAD-7"
    bad["claim_type"] = "dentistry"
    bad["lines"][1]["units"] = "many"
    del bad["payer_id"]
    r = client.post("/v1/claims/score", json={"claims": [examples.CLAIM, bad]}, headers=AUTH)
    assert r.status_code == 422
    errors = {e["field"]: e for e in r.json()["errors"]}
    assert {"claims[1].claim_type", "claims[1].lines[1].units", "claims[1].payer_id"} <= set(errors)
    assert errors["claims[1].claim_type"]["claim"] == "C-BAD-7"
    assert "professional" in errors["claims[1].claim_type"]["expected"]
    r = client.post(
        "/v1/claims/score",
        content=b"{not json",
        headers={**AUTH, "content-type": "application/json"},
    )
    assert r.status_code == 422
    assert client.post("/v1/claims/score", json={"claims": []}, headers=AUTH).status_code == 422


def test_model_health_ready_and_metrics(client):
    info = client.get("/v1/model", headers=AUTH).json()
    assert set(info["thresholds"]) == {"high", "medium"}
    assert "denial.roc_auc" in info["metrics"]
    assert len(info["features"]) > 50 and info["training_windows"]["report_start"]
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["model_version"] == info["version"]
    client.post("/v1/claims/score", json=examples.SCORE_REQUEST, headers=AUTH)
    text = client.get("/metrics").text
    assert 'claimrisk_requests_total{path="/v1/claims/score",status="200"}' in text
    assert "claimrisk_denial_probability_bucket" in text
    assert "claimrisk_model_info{version=" in text


def test_reload_swaps_the_model_and_a_failed_reload_keeps_it(trained, tmp_path):
    folder = trained[0].folder
    settings = Settings(api_keys=KEY, admin_keys="admin-key", models_dir=folder.parent)
    admin = {"X-API-Key": "admin-key"}
    with TestClient(create_app(settings, load(str(folder)))) as c:
        before = c.get("/readyz").json()["model_version"]
        r = c.post("/v1/admin/reload", json={"model": "missing"}, headers=admin)
        assert r.status_code == 409 and r.json()["serving"] == before
        assert c.post("/v1/claims/score", json=examples.SCORE_REQUEST, headers=AUTH).is_success
        r = c.post("/v1/admin/reload", json={"model": folder.name}, headers=admin)
        assert r.status_code == 200 and r.json()["previous"] == before
        assert c.get("/readyz").json()["model_version"] == r.json()["serving"]


def test_the_service_refuses_to_start_without_keys_unless_told(trained):
    with pytest.raises(ValueError, match="CLAIMRISK_API_KEYS"):
        create_app(Settings(api_keys=""), load(str(trained[0].folder)))
    app = create_app(Settings(allow_anonymous=True), load(str(trained[0].folder)))
    with TestClient(app) as c:
        assert c.post("/v1/claims/score", json=examples.SCORE_REQUEST).status_code == 200


def test_every_sentence_names_a_real_feature():
    from features.registry import FEATURE_NAMES

    assert set(explain.SENTENCES) <= set(FEATURE_NAMES)


def test_offline_twins_match_the_api(client, trained, small_world, tmp_path):
    result, _ = trained
    tables, _ = small_world
    claims = tables["claims"].tail(50)
    lines = tables["claim_lines"][tables["claim_lines"]["claim_id"].isin(claims["claim_id"])]
    flat = flatten(claims, lines)
    flat.to_parquet(tmp_path / "claims.parquet")
    out = tmp_path / "scores.parquet"
    r = CliRunner().invoke(
        cli,
        [
            "score",
            "--model",
            str(result.folder),
            "--input",
            str(tmp_path / "claims.parquet"),
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    batch = pd.read_parquet(out)
    body = {"claims": [_claim_json(tables, i) for i in claims["claim_id"]], "explain": "none"}
    api = client.post("/v1/claims/score", json=body, headers=AUTH).json()["scores"]
    np.testing.assert_allclose(
        batch["denial_probability"], [s["denial_probability"] for s in api], atol=1e-6
    )
    denials = flat.assign(
        carc_codes="CO-197|N54", denied_amount=flat["total_charge"], denial_date="2025-12-15"
    )
    denials.to_parquet(tmp_path / "denials.parquet")
    r = CliRunner().invoke(
        cli,
        [
            "rank",
            "--model",
            str(result.folder),
            "--denials",
            str(tmp_path / "denials.parquet"),
            "--as-of",
            "2026-01-10",
            "--out",
            str(tmp_path / "ranked.parquet"),
            "--capacity",
            "10",
        ],
    )
    assert r.exit_code == 0, r.output
    ranked = pd.read_parquet(tmp_path / "ranked.parquet")
    assert list(ranked["priority"]) == list(range(1, 51))
    workable = ranked["next_step"] != "write_off"  # capacity is spent on work, not write-offs
    assert ranked["within_capacity"].sum() == min(10, workable.sum())
    assert not ranked.loc[~workable, "within_capacity"].any()
    r = CliRunner().invoke(
        cli,
        [
            "score",
            "--model",
            str(result.folder),
            "--input",
            str(tmp_path / "nope.parquet"),
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 1 and "does not exist" in r.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_a_real_uvicorn_process_serves_and_reloads(trained):
    port = _free_port()
    env = {
        **os.environ,
        "CLAIMRISK_API_KEYS": KEY,
        "CLAIMRISK_ADMIN_KEYS": "admin-key",
        "CLAIMRISK_MODEL": str(trained[0].folder),
    }
    claimrisk = str(Path(sys.executable).with_name("claimrisk"))
    proc = subprocess.Popen(
        [claimrisk, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.25)
        else:
            pytest.fail(f"service did not start: {proc.stdout.read1().decode()}")
        r = httpx.post(f"{base}/v1/claims/score", json=examples.SCORE_REQUEST, headers=AUTH)
        assert r.status_code == 200 and r.json()["scores"][0]["claim_id"] == "C-EXAMPLE-0001"
        assert httpx.post(f"{base}/v1/claims/score", json=examples.SCORE_REQUEST).status_code == 401
        r = httpx.post(f"{base}/v1/admin/reload", headers={"X-API-Key": "admin-key"}, timeout=60)
        assert r.status_code == 200
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    # no claim data in the log: neither the claim id nor the patient id of the request
    assert b"C-EXAMPLE-0001" not in out and b"P-EXAMPLE-01" not in out
    # but every model load and the reload, with the admin key's fingerprint, never the key
    assert out.count(b"model loaded") == 2 and b"reload by key" in out
    assert b"admin-key" not in out


@pytest.mark.parametrize("fill", [np.nan, 0.0, 45.0, -12.0])
def test_no_sentence_says_nan_or_breaks(fill):
    from features.registry import FEATURE_NAMES

    values = np.full(len(FEATURE_NAMES), fill)
    context = explain.Context(values=values, procedure=None, diagnosis=None, payer=None)
    for name, sentence in explain.SENTENCES.items():
        reason, action = sentence(context)
        assert reason and action, name
        assert "nan" not in reason.lower().split(), (name, reason)


def test_docs_and_redoc_work_offline(client):
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assert "http://" not in html and "https://" not in html, page  # no CDN, no web fonts
        for asset in re.findall(r'(?:src|href)="(/[^"]+)"', html):
            assert client.get(asset).status_code == 200, asset


def test_a_claim_with_only_the_required_fields_scores(client):
    """Unknown is a value over HTTP too: no NPI, diagnoses, age, sex or place of service (what
    a flat export may lack) is scored, not refused and never a 500 (a fuzzer found the NPI and
    pointer rules reading None)."""
    claim = {
        "claim_id": "MIN-1",
        "payer_id": "MCR01",
        "claim_type": "professional",
        "frequency_code": "1",
        "service_date_from": "2024-03-01",
        "service_date_to": "2024-03-01",
        "submission_date": "2024-03-05",
        "total_charge": 120.0,
        "lines": [
            {"line_number": 1, "procedure_code": "99213", "units": 1.0, "line_charge": 120.0,
             "diagnosis_pointers": "1"}
        ],
    }  # fmt: skip
    got = client.post("/v1/claims/score", json={"claims": [claim]}, headers=AUTH)
    assert got.status_code == 200, got.text
    assert 0 < got.json()["scores"][0]["denial_probability"] < 1


def test_a_factor_names_the_level_not_the_models_code(trained):
    """A categorical input without a sentence of its own is shown as the value it stands for
    (COM01, a specialty), never as the model's internal level number."""
    from features.registry import FEATURE_NAMES

    model = trained[0].model
    levels = model.pipeline.categories_
    name = next(n for n in ("payer_id", "specialty", "place_of_service") if n in levels)
    values = np.full(len(FEATURE_NAMES), np.nan)
    values[FEATURE_NAMES.index(name)] = 1.0
    push = np.zeros(len(FEATURE_NAMES) + 1)
    push[FEATURE_NAMES.index(name)] = 5.0
    context = explain.Context(
        values=values, procedure=None, diagnosis=None, payer=None, levels=levels
    )
    found = explain.factors(push, context)
    assert found[0]["feature"] == name
    assert levels[name][1] in found[0]["reason"] and "(value 1)" not in found[0]["reason"]
