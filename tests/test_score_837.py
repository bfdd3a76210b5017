"""Score an 837 before submission: over HTTP and the CLI, every CLM scored or named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from features.x12.ingest import ingest
from features.x12.write import write_x12
from serving.app import create_app
from serving.cli import app as cli
from serving.settings import Settings
from serving.state import load
from training.unknowns import marginalise

KEY = "biller-key"


@pytest.fixture(scope="module")
def x12(small_world, tmp_path_factory):
    """The small world's most recent 300 claims as an 837P, one CLM's charge made unreadable."""
    tables = {k: v.copy() for k, v in small_world[0].items()}
    claims = tables["claims"]
    claims = claims[claims["claim_type"] == "professional"].tail(300)
    tables["claims"] = claims
    tables["claim_lines"] = tables["claim_lines"][
        tables["claim_lines"]["claim_id"].isin(claims["claim_id"])
    ]
    for name in ("remits", "remit_adjustments", "remit_remarks", "appeals"):
        tables[name] = tables[name].iloc[0:0]
    folder = tmp_path_factory.mktemp("837")
    path = next(p for p in write_x12(tables, folder) if p.name == "claims_837p.x12")
    bad_id = claims["claim_id"].iloc[5]
    text = path.read_text()
    start = text.index(f"CLM*{bad_id}*")
    end = text.index("*", start + len(f"CLM*{bad_id}*"))
    broken = folder / "broken_837p.x12"
    broken.write_text(text[: start + len(f"CLM*{bad_id}*")] + "12X.5" + text[end:])
    return tables, path, broken, bad_id


@pytest.fixture(scope="module")
def client(trained):
    result, _ = trained
    with TestClient(create_app(Settings(api_keys=KEY), load(str(result.folder)))) as c:
        yield c


def test_an_837_body_is_scored_claim_by_claim_with_read_errors(client, x12):
    tables, _, broken, bad_id = x12
    response = client.post(
        "/v1/claims/score?explain=all",
        content=broken.read_bytes(),
        headers={"X-API-Key": KEY, "Content-Type": "application/edi-x12"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    scored = {s["claim_id"] for s in body["scores"]}
    assert scored == set(tables["claims"]["claim_id"]) - {bad_id}
    assert [e["id"] for e in body["read_errors"] if e["what"] == "claim"] == [bad_id]
    assert "12X.5" in body["read_errors"][0]["reason"]
    for s in body["scores"]:
        low, high = s["denial_probability_range"]
        assert s["unknown_inputs"] == ["eligibility_verified_date", "eligibility"]
        assert low <= s["denial_probability"] <= high
        assert all(not f["feature"].startswith("eligibility") for f in s["factors"])


def test_an_837_needs_a_key_and_nonsense_is_a_clear_422(client):
    no_key = client.post(
        "/v1/claims/score", content=b"ISA*", headers={"Content-Type": "application/edi-x12"}
    )
    assert no_key.status_code == 401
    response = client.post(
        "/v1/claims/score",
        content=b"this is not X12",
        headers={"X-API-Key": KEY, "Content-Type": "application/edi-x12"},
    )
    assert response.status_code == 422
    assert "no ISA interchange header" in response.json()["errors"][0]["reason"]


def test_the_cli_scores_an_837_as_the_api_does(client, trained, x12, tmp_path):
    result, _ = trained
    _, path, _, _ = x12
    out = tmp_path / "scores.csv"
    run = CliRunner().invoke(
        cli, ["score", "--model", str(result.folder), "--x12", str(path), "--out", str(out)]
    )
    assert run.exit_code == 0, run.output
    offline = pd.read_csv(out).set_index("claim_id")
    api = client.post(
        "/v1/claims/score",
        content=path.read_bytes(),
        headers={"X-API-Key": KEY, "Content-Type": "application/edi-x12"},
    ).json()
    assert len(offline) == len(api["scores"]) == 300
    for s in api["scores"]:
        row = offline.loc[s["claim_id"]]
        assert row["denial_probability"] == pytest.approx(s["denial_probability"], abs=1e-6)
        assert row["unknown_inputs"] == "eligibility_verified_date|eligibility"
        assert row["denial_probability_low"] == pytest.approx(s["denial_probability_range"][0])


def test_scores_from_an_837_are_not_skewed_by_what_it_does_not_carry(trained, small_world, x12):
    """The same claims from their tables and from their 837: marginalising the unknown
    eligibility date keeps the mean risk close; reading it as "never checked" does not."""
    model = trained[0].model
    tables, path, _, _ = x12
    from_837 = ingest([path]).tables
    ids = tables["claims"]["claim_id"]
    ordered = [
        (
            t["claims"].set_index("claim_id").loc[ids].reset_index(),
            t["claim_lines"][t["claim_lines"]["claim_id"].isin(ids)],
        )
        for t in (small_world[0], from_837)
    ]
    x_tables, x_837 = (model.pipeline.encode(c, lines).matrix for c, lines in ordered)
    truthful = model.denial_probability(x_tables).mean()
    as_absent = model.denial_probability(x_837).mean()
    marginal = marginalise(model, x_837, ["eligibility_verified_date"]).probability.mean()
    assert abs(marginal - truthful) < 0.5 * abs(as_absent - truthful)
    assert np.isfinite(marginal)
