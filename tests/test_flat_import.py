"""Bring your own data: flat PM-system exports → contract tables (features.flat, docs/import.md).

The exports are the small generated world written as practice-management systems write reports
(tests/flat_exports.py), so every imported outcome can be checked against the world's own 835s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from features.codes import initial_outcomes
from features.flat.build import import_flat
from features.flat.mapping import MapError, parse_map
from features.flat.read import read_exports
from features.flat.suggest import suggest
from features.generate import WorldConfig, generate
from features.io import write_dataset
from serving.app import create_app
from serving.cli import app
from serving.settings import Settings
from serving.state import load
from store import schema
from store.db import engine
from tests import flat_exports
from training import examples
from training.run import train
from training.scoring import score_claims

SHAPES = {
    "claim-level, status and reason text": flat_exports.claim_level,
    "line-level with CARCs": flat_exports.line_level,
    "claims + a denials file, month-only dates": flat_exports.with_denials_file,
}


@pytest.fixture(scope="module", params=list(SHAPES))
def shape(request, small_world, tmp_path_factory) -> tuple[str, list[Path], str]:
    out = tmp_path_factory.mktemp("flat")
    paths, text = SHAPES[request.param](small_world[0], out)
    return request.param, paths, text


def _first_pass(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return initial_outcomes(tables["remits"], tables["remit_adjustments"]).set_index("claim_id")


def test_each_shape_imports_with_the_worlds_outcomes(shape, small_world):
    """Every decided claim keeps its outcome and denial category through the export: the
    imported remits follow the one denial rule, and say they were imported."""
    name, paths, text = shape
    imported = import_flat(paths, parse_map(yaml.safe_load(text)))
    assert imported.report.ok, imported.report.render()
    world = small_world[0]
    got, want = _first_pass(imported.tables), _first_pass(world)
    assert set(got.index) == set(want.index)
    joined = got.join(want.add_suffix("_world"))
    assert (joined["denied"] == joined["denied_world"]).all()
    denied = joined[joined["denied"]]
    assert (denied["denial_category"] == denied["denial_category_world"]).all()
    assert (imported.tables["remits"]["origin"] == "import").all()
    claims = imported.tables["claims"].set_index("claim_id")
    truth = world["claims"].set_index("claim_id").loc[claims.index]
    assert (claims["total_charge"].round(2) == truth["total_charge"].round(2)).all()  # $1,234.50
    if "month-only" in name:
        assert (claims["service_date_from"].dt.day == 1).all()
        assert any("give only a month" in n for n in imported.notes)
    else:  # US dates, dotted diagnoses, Female/Male, Y/N
        assert (claims["service_date_from"] == truth["service_date_from"]).all()
        assert (claims["diagnosis_codes"] == truth["diagnosis_codes"]).all()
        assert (claims["patient_sex"] == truth["patient_sex"]).all()
        assert (claims["other_coverage"] == truth["other_coverage"]).all()
    if name.startswith("line"):
        assert len(imported.tables["claim_lines"]) == len(world["claim_lines"])


def test_suggest_map_places_every_field_and_its_draft_imports(shape, tmp_path):
    """--suggest-map finds every column the hand-written map names, from common header
    variants, and the draft imports as it stands."""
    _, paths, text = shape
    wanted = yaml.safe_load(text)
    claims = [p for p in paths if p.name != "denials.csv"]
    denials = [p for p in paths if p.name == "denials.csv"]
    runner = CliRunner()
    draft = tmp_path / "draft.yaml"
    result = runner.invoke(app, ["import", "flat", *map(str, paths), "--suggest-map", str(draft)])
    assert result.exit_code == 0, result.output
    got = yaml.safe_load(draft.read_text())
    assert got["columns"] == wanted["columns"]
    assert {k: v for k, v in got["outcome"].items() if k != "values"} == {
        k: v for k, v in wanted["outcome"].items() if k != "values"
    }
    if denials:
        assert got["denials"] == wanted["denials"]
    assert "nothing: every column and value was placed" in draft.read_text()
    plan = suggest(read_exports(claims), read_exports(denials) if denials else None)
    assert not plan.unplaced_headers
    out = tmp_path / "data"
    result = runner.invoke(
        app, ["import", "flat", *map(str, paths), "--map", str(draft), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert (out / "claims.parquet").exists() and (out / "import.json").exists()
    again = runner.invoke(
        app, ["import", "flat", *map(str, paths), "--map", str(draft), "--out", str(out)]
    )
    assert again.exit_code == 2 and "is not empty" in again.output


GOOD = {
    "columns": {"claim_id": "Claim #", "service_date_from": "DOS", "payer_id": "Payer"},
    "outcome": {"status": "Status", "values": {"Paid": "paid"}},
}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"colums": {}}, "colums: not a key"),
        ({"columns": {**GOOD["columns"], "x_in_network": "INN"}}, "columns.x_in_network"),
        ({"columns": {**GOOD["columns"], "dos": "DOS"}}, "columns.dos: not a contract field"),
        ({"outcome": {"status": "Status", "values": {"Paid": "won"}}}, "outcome.values.Paid"),
        ({"outcome": {"status": "Status"}}, "outcome.values: missing"),
        ({"level": "visit"}, "level: 'visit'"),
        ({"dates": {"format": "%m/%d"}}, "dates.format: '%m/%d' has no year"),
        ({"reasons": {"No auth": "CO-ABCD"}}, "reasons.No auth"),
        (
            {"payers": {"Aetna": {"payer_id": "AET", "payer_type": "ppo"}}},
            "payers.Aetna.payer_type",
        ),
        ({"defaults": {"claim_type": "dental"}}, "defaults.claim_type"),
        ({"extras": {"in_network": {"column": "INN", "type": "bool"}}}, "extras.in_network"),
        ({"extras": {"x_inn": {"column": "INN", "type": "yesno"}}}, "extras.x_inn.type"),
    ],
)
def test_a_bad_map_key_or_value_is_named(change, named):
    with pytest.raises(MapError, match=named.replace("(", r"\(").replace("$", r"\$")):
        parse_map({**GOOD, **change})


def test_a_bad_cell_names_file_line_column_and_value(small_world, tmp_path):
    paths, text = flat_exports.claim_level(small_world[0], tmp_path)
    frame = pd.read_csv(paths[0], dtype=str, keep_default_na=False)
    frame.loc[6, "DOS"] = "13/45/2024"
    frame.loc[9, "Billed"] = "$12,3x4"
    frame.loc[11, "Status"] = "Appealed"
    frame.to_csv(paths[0], index=False)
    result = CliRunner().invoke(
        app, ["import", "flat", str(paths[0]), "--map", "-", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "no such map file" in result.output
    (tmp_path / "map.yaml").write_text(text)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["import", "flat", str(paths[0]), "--map", str(tmp_path / "map.yaml"), "--out", str(out)],
    )
    assert result.exit_code == 1
    assert "claims_report.csv line 8: '13/45/2024'" in result.output  # row 6 + header, 1-based
    assert "column 'DOS'" in result.output and "'Billed'" in result.output
    assert "claims_report.csv line 11: '$12,3x4'" in result.output
    assert "(Appealed)" in result.output and "outcome.values" in result.output
    assert "nothing written" in result.output and not out.exists()


def test_a_mapped_header_missing_from_the_file_names_the_nearest(small_world, tmp_path):
    paths, text = flat_exports.claim_level(small_world[0], tmp_path)
    cmap = yaml.safe_load(text)
    cmap["columns"]["total_charge"] = "Billed Amt"
    with pytest.raises(
        MapError, match=r"columns.total_charge: .*'Billed Amt'.*did you mean 'Billed'"
    ):
        import_flat(paths, parse_map(cmap))


# --- from an export to a model -------------------------------------------------------------


def _import_to(folder: Path, shape, tables: dict[str, pd.DataFrame]) -> Path:
    paths, text = shape(tables, folder)
    imported = import_flat(paths, parse_map(yaml.safe_load(text)))
    assert imported.report.ok, imported.report.render()
    write_dataset(imported.tables, folder / "data")
    return folder / "data"


def test_a_flat_export_trains_as_well_as_the_worlds_own_tables(trained, small_world, tmp_path):
    """The small world exported line by line (no remarks, no appeals: a PM system has neither)
    trains to within 0.03 ROC AUC of the model trained on the world's own tables."""
    data = _import_to(tmp_path, flat_exports.line_level, small_world[0])
    result = train(data, tmp_path / "model", tracking_uri=trained[1], echo=lambda _: None)
    assert abs(result.metrics["denial.roc_auc"] - trained[0].metrics["denial.roc_auc"]) <= 0.03


def _with_custom_columns(path: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Add what PM exports carry and the contract does not: an in-network flag (out of network
    claims are mostly the denied ones here, so the model must lean on it) and a plan tier."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    denied = frame["Status"].eq("Denied").to_numpy()
    noise = np.random.default_rng(5).random(len(frame))
    frame["In Network"] = np.where(denied ^ (noise < 0.1), "N", "Y")
    frame["Plan Tier"] = np.where(noise < 0.5, "Gold", "Silver")
    frame.to_csv(path, index=False)


CUSTOM = """extras:
  x_in_network: {column: In Network, type: bool}
  x_plan_tier: {column: Plan Tier, type: string}
"""


def test_a_small_world_without_appeals_trains_scores_and_says_which_model_won(tmp_path):
    """3,000 claims from a claim-level report with two custom columns: no appeals, no remarks.
    The denial and category models train, recovery says it fell back, the report names the
    denial model kept and why; the custom features reach the model, its explanations and the
    API (validated against the names and types it was trained with)."""
    tables, _ = generate(WorldConfig(n_claims=3_000, seed=11))
    paths, text = flat_exports.claim_level(tables, tmp_path)
    _with_custom_columns(paths[0], tables)
    imported = import_flat(paths, parse_map(yaml.safe_load(text + CUSTOM)))
    assert imported.report.ok, imported.report.render()
    data = tmp_path / "data"
    write_dataset(imported.tables, data)
    assert not (data / "appeals.parquet").exists()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    said: list[str] = []
    result = train(data, tmp_path / "model", tracking_uri=uri, echo=said.append)
    model = result.model
    choice = model.metadata["denial_model"]
    assert choice["chosen"] in ("lightgbm", "lightgbm, sized", "logistic")
    assert "time-ordered folds" in choice["why"] and set(choice["roc_auc"]) >= {"logistic"}
    report = (result.folder / "report.md").read_text()
    name = "the logistic regression" if choice["chosen"] == "logistic" else choice["chosen"]
    assert f"Denial model: {name}**, chosen as the best ranker: kept" in report
    assert model.metadata["recovery"]["model"] == "prior"
    assert any("published overturn rates" in line for line in said)

    assert model.pipeline.extras_ == {"x_in_network": "bool", "x_plan_tier": "string"}
    names = model.denial.feature_name()
    importance = dict(zip(names, model.denial.feature_importance("gain"), strict=True))
    assert max(importance, key=importance.get) == "x_in_network"
    claims = pd.read_parquet(data / "claims.parquet")
    lines = pd.read_parquet(data / "claim_lines.parquet")
    out_of_network = claims[claims["x_in_network"] == False].head(3)  # noqa: E712
    scored = score_claims(
        model, out_of_network, lines[lines["claim_id"].isin(out_of_network["claim_id"])], "all"
    )
    assert len(scored.scores) == 3 and scored.rejects.empty
    # the largest push (claim-fixable factors are listed first, this one is the practice's)
    for s in scored.scores:
        top = max(s["factors"], key=lambda f: f["contribution"])
        assert top["feature"] == "x_in_network" and top["team"] == "practice"

    settings = Settings(api_keys="k")
    with TestClient(create_app(settings, load(str(result.folder)))) as client:
        claim = {**examples.SCORE_REQUEST["claims"][0]}
        for extra, status in (
            ({"x_in_network": False, "x_plan_tier": "Gold"}, 200),
            ({"x_in_network": "no"}, 422),
            ({"x_referral": True}, 422),
        ):
            body = {"claims": [{**claim, "extra": extra}], "explain": "all"}
            got = client.post("/v1/claims/score", json=body, headers={"X-API-Key": "k"})
            assert got.status_code == status, got.text
            if status == 422:
                assert f"extra.{next(iter(extra))}" in got.text
        info = client.get("/v1/model", headers={"X-API-Key": "k"}).json()
        assert info["custom_features"] == model.pipeline.extras_


def test_an_imported_export_loads_into_the_store_and_refuses_x12_it_cannot_write(
    small_world, tmp_path
):
    """Unknown fields are nullable in the store too (migration 0003): the month-only claims +
    denials export loads, its denials join the worklist; writing it as X12 is refused with the
    fields an 837 needs that it leaves unknown, not a traceback."""
    data = _import_to(tmp_path, flat_exports.with_denials_file, small_world[0])
    runner = CliRunner()
    db = f"sqlite:///{tmp_path / 'store.db'}"
    assert runner.invoke(app, ["db", "upgrade", "--db", db]).exit_code == 0
    result = runner.invoke(
        app, ["db", "load", "--db", db, "--data", str(data), "--as-of", "2026-01-01"]
    )
    assert result.exit_code == 0, result.output
    eng = engine(db)
    with eng.connect() as conn:
        claims = conn.execute(select(func.count()).select_from(schema.claims)).scalar_one()
        origins = set(conn.execute(select(schema.remits.c.origin).distinct()).scalars())
        items = conn.execute(select(func.count()).select_from(schema.worklist_items)).scalar_one()
    assert claims == len(pd.read_parquet(data / "claims.parquet")) and origins == {"import"}
    assert items > 0
    result = runner.invoke(app, ["export-x12", "--data", str(data), "--out", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert "claims.billing_npi: " in result.output and "claims.patient_age: " in result.output
