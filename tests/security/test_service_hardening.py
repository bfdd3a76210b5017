"""Each defect an outside tester found in the service, as a test that failed before its fix."""

from __future__ import annotations

import copy
import json
import logging
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from serving.app import create_app
from serving.settings import Settings
from serving.state import load
from training import examples
from training.bundle import BundleError
from training.model import ClaimriskModel

KEY, ADMIN = "score-key", "admin-key"
AUTH, ADMIN_AUTH = {"X-API-Key": KEY}, {"X-API-Key": ADMIN}


@pytest.fixture(scope="module")
def loaded(trained):
    return load(str(trained[0].folder))


@pytest.fixture(scope="module")
def client(trained, loaded):
    settings = Settings(api_keys=KEY, admin_keys=ADMIN, models_dir=trained[0].folder.parent)
    with TestClient(create_app(settings, loaded)) as c:
        yield c


def _score(client, claims, **kw):
    return client.post("/v1/claims/score", json={"claims": claims, **kw}, headers=AUTH)


# -- model administration -------------------------------------------------------------------


def test_without_admin_keys_there_is_no_admin_endpoint(loaded):
    with TestClient(create_app(Settings(api_keys=KEY), loaded)) as c:
        for key in (KEY, "", ADMIN):
            r = c.post("/v1/admin/reload", json={"model": "x"}, headers={"X-API-Key": key})
            assert r.status_code == 404


def test_an_admin_key_may_not_equal_a_scoring_key():
    with pytest.raises(ValueError, match="admin key equals a scoring key"):
        Settings(api_keys="a,b", admin_keys="b")


def test_a_scoring_key_cannot_reload(client):
    # a known key without the role: 403, saying which role it is (not 401: the key is valid)
    r = client.post("/v1/admin/reload", headers=AUTH)
    assert r.status_code == 403 and "biller" in r.json()["detail"]


@pytest.mark.parametrize("target", ["/etc/passwd", "/nonexistent/x", "../small", "/tmp", "a/b"])
def test_reload_takes_no_path_and_reveals_nothing(client, target):
    r = client.post("/v1/admin/reload", json={"model": target}, headers=ADMIN_AUTH)
    assert r.status_code == 409
    detail = r.json()["detail"]
    assert "root:" not in detail and "No such file" not in detail
    assert detail.startswith("reload takes models:/claimrisk@ALIAS")  # same words for every path


def test_every_reload_attempt_is_logged_with_a_key_fingerprint(client, caplog):
    caplog.set_level(logging.INFO, "claimrisk.serving")
    client.post("/v1/admin/reload", json={"model": "/etc/passwd"}, headers=ADMIN_AUTH)
    client.post("/v1/admin/reload", json={"model": "no-such-bundle"}, headers=ADMIN_AUTH)
    lines = [r.getMessage() for r in caplog.records if "reload by key" in r.getMessage()]
    assert len(lines) == 2
    assert "refused" in lines[0] and "failed" in lines[1]
    assert all(ADMIN not in line for line in lines)


def test_a_bundle_that_loads_but_cannot_score_is_refused(client, trained, tmp_path, loaded):
    broken = copy.copy(trained[0].model)
    broken.denial = None  # loads fine, fails on the first claim
    folder = trained[0].folder.parent / "broken-bundle"
    broken.save(folder)
    before = client.get("/readyz").json()["model_version"]
    r = client.post("/v1/admin/reload", json={"model": "broken-bundle"}, headers=ADMIN_AUTH)
    assert r.status_code == 409 and r.json()["serving"] == before
    assert client.get("/readyz").json()["model_version"] == before
    assert _score(client, [examples.CLAIM]).status_code == 200
    shutil.rmtree(folder)


def test_a_bundle_from_other_library_versions_is_refused(trained, tmp_path):
    model = copy.copy(trained[0].model)
    model.metadata = {
        **model.metadata,
        "versions": {**model.metadata["versions"], "lightgbm": "3.0.0"},
    }
    model.save(tmp_path / "old")
    with pytest.raises(BundleError, match=r"lightgbm 3\.0\.0 \(installed: "):
        load(str(tmp_path / "old"))


def test_model_info_shows_no_filesystem_path(client, trained):
    info = client.get("/v1/model", headers=AUTH).json()
    assert str(trained[0].folder.parent) not in json.dumps(info)
    assert set(info["library_versions"]) == {"claimrisk", "lightgbm", "scikit-learn", "pandas"}


def test_the_bundle_loads_without_the_training_stack(trained):
    import subprocess
    import sys

    code = (
        "import sys; from serving.state import load; load(sys.argv[1]); "
        "bad = [m for m in ('matplotlib', 'mlflow', 'training.run', 'training.report') "
        "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code, str(trained[0].folder)], capture_output=True)
    assert r.returncode == 0, r.stdout + r.stderr


# -- errors never leak claims, and monitoring sees every failure --------------------------


@pytest.mark.parametrize("raw_id", [b"NaN", b"1e400", b"Infinity", b"true", b"12"])
def test_a_strange_claim_id_is_a_422_not_a_500(client, raw_id, caplog):
    body = json.dumps({"claims": [examples.CLAIM]}).replace('"C-EXAMPLE-0001"', "@@").encode()
    body = body.replace(b"@@", raw_id)
    r = client.post(
        "/v1/claims/score", content=body, headers={**AUTH, "content-type": "application/json"}
    )
    assert r.status_code == 422
    assert any(e["field"] == "claims[0].claim_id" for e in r.json()["errors"])
    assert "P-EXAMPLE-01" not in caplog.text and "1234567893" not in caplog.text


def test_internal_errors_are_counted_and_logged_by_type_only(loaded, monkeypatch, caplog):
    import serving.routes.claims as route

    def explode(*args, **kwargs):
        raise KeyError("P-EXAMPLE-01 C-EXAMPLE-0001")

    monkeypatch.setattr(route, "score_valid", explode)
    with TestClient(create_app(Settings(api_keys=KEY), loaded)) as c:
        r = _score(c, [examples.CLAIM])
        assert r.status_code == 500 and "P-EXAMPLE" not in r.text
        text = c.get("/metrics").text
    assert 'claimrisk_requests_total{path="/v1/claims/score",status="500"} 1.0' in text
    assert 'claimrisk_request_seconds_count{path="/v1/claims/score",status="500"} 1.0' in text
    assert "KeyError" in caplog.text and "P-EXAMPLE" not in caplog.text


def test_a_chunked_body_over_the_limit_is_413(loaded):
    settings = Settings(api_keys=KEY, max_body_bytes=10_000)
    chunk = json.dumps({"claims": [examples.CLAIM] * 20}).encode()

    def pieces():
        for i in range(0, len(chunk), 1000):
            yield chunk[i : i + 1000]

    with TestClient(create_app(settings, loaded)) as c:
        r = c.post(
            "/v1/claims/score",
            content=pieces(),
            headers={**AUTH, "content-type": "application/json"},
        )
        assert r.status_code == 413 and "fewer claims" in r.json()["detail"]
        assert 'status="413"' in c.get("/metrics").text


# -- nothing changed silently -------------------------------------------------------------


def test_duplicate_claim_ids_are_refused_by_name(client):
    r = _score(client, [examples.CLAIM, examples.CLAIM])
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert errors[0]["rule"] == "duplicate_key" and "C-EXAMPLE-0001" in errors[0]["problem"]


@pytest.mark.parametrize(
    ("where", "value"),
    [("total_charge", "Infinity"), ("total_charge", "1e400"), ("total_charge", "true")],
)
def test_amounts_are_finite_numbers_not_booleans(client, where, value):
    body = json.dumps({"claims": [examples.CLAIM]}).replace(
        '"total_charge": 360.0', f'"{where}": {value}'
    )
    r = client.post(
        "/v1/claims/score", content=body, headers={**AUTH, "content-type": "application/json"}
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "claims[0].total_charge"


def test_line_units_and_charges_are_bounded(client):
    claim = copy.deepcopy(examples.CLAIM)
    claim["lines"][0]["units"] = 1e12
    r = _score(client, [claim])
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "range"


def test_cross_field_rules_hold_over_http(client):
    late = {**copy.deepcopy(examples.CLAIM), "service_date_to": "2025-12-20"}
    unbalanced = {**copy.deepcopy(examples.CLAIM), "claim_id": "C-2", "total_charge": 999.0}
    pointer = copy.deepcopy(examples.CLAIM)
    pointer["claim_id"], pointer["lines"][0]["diagnosis_pointers"] = "C-3", "1:4"
    repeated = copy.deepcopy(examples.CLAIM)
    repeated["claim_id"], repeated["lines"][1]["line_number"] = "C-4", 1
    r = _score(client, [late, unbalanced, pointer, repeated])
    assert r.status_code == 422
    got = {(e["claim"], e["rule"]) for e in r.json()["errors"]}
    assert got == {
        ("C-EXAMPLE-0001", "date_order"),
        ("C-2", "charge_balance"),
        ("C-3", "pointer_range"),
        ("C-4", "duplicate_key"),
    }


@pytest.mark.parametrize("codes", [["CO-197; DROP"], ["X" * 40], [], ["197"] * 21])
def test_carc_codes_are_validated(client, codes):
    body = copy.deepcopy(examples.RANK_REQUEST)
    body["denials"][0]["carc_codes"] = codes
    r = client.post("/v1/worklist/rank", json=body, headers=AUTH)
    assert r.status_code == 422


def test_the_example_claim_and_training_claims_raise_no_false_unknown_codes(
    client, trained, small_world
):
    from features.pipeline import FeaturePipeline

    tables, _ = small_world
    pipeline: FeaturePipeline = trained[0].model.pipeline
    encoded = pipeline.encode(tables["claims"], tables["claim_lines"])
    code_flags = [
        f for flags in encoded.unseen for f in flags if f.startswith(("procedure", "diagnosis"))
    ]
    assert code_flags == []  # every code of a training claim was seen in its role
    r = _score(client, [examples.CLAIM])
    flags = r.json()["scores"][0]["unknown_codes"]
    assert not [f for f in flags if f.startswith("procedure")]  # 97110, 97140 are common


def test_a_saved_bundle_records_its_versions(trained):
    model = ClaimriskModel.load(trained[0].folder)
    assert model.metadata["versions"]["lightgbm"]


def test_large_requests_take_the_batch_lane_and_answer_the_same(trained, loaded, small_world):
    """A body over ``lane_bytes`` is scored in the lane's process; the answer is byte for byte
    the route's, for scores and for refusals alike."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from test_serving import _claim_json

    tables, _ = small_world
    ids = tables["claims"]["claim_id"].tail(40).tolist()
    body = {"claims": [_claim_json(tables, i) for i in ids], "explain": "all"}
    bad = copy.deepcopy(body)
    bad["claims"][3]["claim_type"] = "dentistry"
    bad["claims"][5]["total_charge"] = 1.0
    answers = {}
    for lane_bytes in (10**9, 1_000):  # the route, then the lane
        settings = Settings(api_keys=KEY, lane_bytes=lane_bytes)
        with TestClient(create_app(settings, loaded)) as c:
            good = c.post("/v1/claims/score", json=body, headers=AUTH)
            refused = c.post("/v1/claims/score", json=bad, headers=AUTH)
            unauthorised = c.post("/v1/claims/score", json=body, headers={"X-API-Key": "nope"})
            metrics = c.get("/metrics").text
        answers[lane_bytes] = (good.status_code, good.json(), refused.status_code, refused.json())
        assert unauthorised.status_code == 401
        assert "claimrisk_claims_scored_total 40.0" in metrics
    assert answers[10**9] == answers[1_000]
    assert answers[1_000][0] == 200 and answers[1_000][2] == 422
