"""One scoring path: HTTP, the offline CLI and the MLflow pyfunc agree, rejected claims included;
one denial rule for training labels and the worklist; offline scoring never drops a row."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from features.codes import denial_categories, label_remits
from serving.app import create_app
from serving.cli import app as cli
from serving.settings import Settings
from serving.state import load
from training.scoring import FLAT_COLUMNS
from training.tracking import flatten, json_shaped

KEY = {"X-API-Key": "k"}


def _sample(tables: dict, n: int) -> pd.DataFrame:
    ids = tables["claims"]["claim_id"].tail(n)
    claims = tables["claims"][tables["claims"]["claim_id"].isin(ids)]
    lines = tables["claim_lines"][tables["claim_lines"]["claim_id"].isin(ids)]
    return json_shaped(flatten(claims, lines))


def _nested(flat: pd.DataFrame) -> list[dict]:
    out = []
    for _, rows in flat.groupby("claim_id", sort=False):
        head = {c: rows.iloc[0][c] for c in flat.columns if c in _HEADER}
        head["lines"] = rows[[c for c in flat.columns if c in _LINE]].to_dict("records")
        out.append(head)
    return json.loads(json.dumps(out, default=lambda v: v.item()))


_HEADER = {f for f in __import__("serving.schemas").schemas.HEADER}
_LINE = {f for f in __import__("serving.schemas").schemas.LINE}


def _score_cli(model, input, out, *extra):
    """``claimrisk score`` as a user runs it."""
    args = ["score", "--model", str(model), "--input", str(input), "--out", str(out), *extra]
    return CliRunner().invoke(cli, args)


def _http_flat(client, nested) -> pd.DataFrame:
    r = client.post("/v1/claims/score", json={"claims": nested, "explain": "all"}, headers=KEY)
    assert r.status_code == 200, r.text
    rows = []
    for s in r.json()["scores"]:
        row = {"claim_id": s["claim_id"], "status": "scored"}
        row.update(denial_probability=s["denial_probability"], risk_band=s["risk_band"])
        for k, c in enumerate(s["likely_categories"], start=1):
            row[f"category_{k}"], row[f"category_{k}_probability"] = c["category"], c["probability"]
        row["factors"], row["actions"] = json.dumps(s["factors"]), json.dumps(s["actions"])
        row["unknown_codes"] = "|".join(s["unknown_codes"])
        rows.append(row)
    return pd.DataFrame(rows)


def test_http_cli_and_pyfunc_return_the_same_fields(trained, small_world, tmp_path):
    result, uri = trained
    flat = _sample(small_world[0], 40)
    with TestClient(create_app(Settings(api_keys="k"), load(str(result.folder)))) as c:
        http = _http_flat(c, _nested(flat))
    flat.to_parquet(tmp_path / "in.parquet")
    out = tmp_path / "scores.csv"
    r = _score_cli(result.folder, tmp_path / "in.parquet", out, "--explain", "all")
    assert r.exit_code == 0, r.output
    offline = pd.read_csv(out, dtype={"unknown_codes": str}, keep_default_na=False)
    mlflow.set_tracking_uri(uri)
    pyfunc = mlflow.pyfunc.load_model(result.model_uri).predict(flat, params={"explain": "all"})
    assert list(pyfunc.columns) == list(FLAT_COLUMNS)
    for other in (offline, pyfunc):
        assert list(other["claim_id"]) == list(http["claim_id"])
        np.testing.assert_allclose(other["denial_probability"], http["denial_probability"])
        for col in ("risk_band", "category_1", "factors", "actions"):
            assert list(other[col].astype(str)) == list(http[col].astype(str)), col
        assert list(other["unknown_codes"].fillna("")) == list(http["unknown_codes"])


def test_rejected_claims_name_the_same_fields_everywhere(trained, small_world, tmp_path):
    result, uri = trained
    flat = _sample(small_world[0], 5)
    first, second = flat["claim_id"].unique()[:2]
    flat.loc[flat["claim_id"] == first, "service_date_to"] = "2099-01-01"
    flat.loc[flat["claim_id"] == second, "claim_type"] = "dentistry"
    with TestClient(create_app(Settings(api_keys="k"), load(str(result.folder)))) as c:
        r = c.post("/v1/claims/score", json={"claims": _nested(flat)}, headers=KEY)
    assert r.status_code == 422
    http = {(e["claim"], e["rule"]) for e in r.json()["errors"]}
    flat.to_parquet(tmp_path / "in.parquet")
    out = tmp_path / "scores.parquet"
    args = ["score", "--model", str(result.folder), "--input", str(tmp_path / "in.parquet")]
    r = CliRunner().invoke(cli, [*args, "--out", str(out)])
    assert r.exit_code == 1 and "2 claim(s) rejected" in r.output
    rejects = pd.read_csv(tmp_path / "scores.rejects.csv")
    offline = set(zip(rejects["claim_id"], rejects["rule"], strict=True))
    mlflow.set_tracking_uri(uri)
    pyfunc = mlflow.pyfunc.load_model(result.model_uri).predict(flat)
    rejected = pyfunc[pyfunc["status"] == "rejected"]
    from_pyfunc = {
        (c, p["rule"])
        for c, ps in zip(rejected["claim_id"], rejected["problems"], strict=True)
        for p in json.loads(ps)
    }
    assert http == offline == from_pyfunc == {(first, "date_order"), (second, "allowed_values")}
    scored = pd.read_parquet(out)
    assert len(scored) == flat["claim_id"].nunique()  # every claim has a row: scored or rejected
    assert CliRunner().invoke(cli, [*args, "--out", str(out), "--skip-invalid"]).exit_code == 0


def test_offline_score_never_drops_a_row_or_a_column(trained, small_world, tmp_path):
    flat = _sample(small_world[0], 5)
    flat.loc[flat.index[0], "claim_id"] = None
    flat.to_parquet(tmp_path / "null-id.parquet")
    flat_ok = _sample(small_world[0], 5).drop(columns="procedure_code")
    flat_ok.to_parquet(tmp_path / "no-procedure.parquet")
    for name, rule in (("null-id", "required"), ("no-procedure", "missing_column")):
        out = tmp_path / f"{name}.csv"
        r = _score_cli(trained[0].folder, tmp_path / f"{name}.parquet", out)
        assert r.exit_code == 1, r.output
        assert "rejected" in r.output, r.output
        assert rule in set(pd.read_csv(tmp_path / f"{name}.rejects.csv")["rule"])


def test_one_denial_rule_for_training_labels_and_the_worklist(small_world):
    tables, _ = small_world
    adj = tables["remit_adjustments"][["group_code", "carc"]].drop_duplicates()
    pairs = adj.reset_index(drop=True)
    remits = pd.DataFrame(
        {
            "remit_id": [f"R{i}" for i in range(len(pairs))],
            "claim_status_code": "1",
            "paid_amount": 0.0,
        }
    )
    one_each = pairs.assign(remit_id=remits["remit_id"], amount=10.0)
    labels = label_remits(remits, one_each)
    worklist = denial_categories([[f"{g}-{c}"] for g, c in pairs.itertuples(index=False)])
    denied = labels["denied"].to_numpy()
    assert denied.any() and (~denied).any()  # both kinds of pair are in the sample
    assert list(labels["denial_category"][denied]) == list(worklist[denied])
    assert set(worklist[~denied]) == {"other"}  # no denial-class code: no denial reason


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_offline_output_format_follows_the_extension(trained, small_world, tmp_path, suffix):
    _sample(small_world[0], 3).to_parquet(tmp_path / "in.parquet")
    out = tmp_path / f"scores{suffix}"
    r = _score_cli(trained[0].folder, tmp_path / "in.parquet", out)
    assert r.exit_code == 0, r.output
    reader = {".csv": pd.read_csv, ".parquet": pd.read_parquet}.get(
        suffix, lambda p: pd.read_json(p, lines=True)
    )
    assert len(reader(out)) == 3
