"""The synthetic world: deterministic, valid, calibrated, and denials that follow their causes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.codes import initial_outcomes
from features.contract import TABLES, TRUTH
from features.generate import WorldConfig, generate
from features.generate.calibration import calibration_table
from features.generate.world import POLICY_CHANGE_CODES, POLICY_CHANGE_PAYER, build_world
from serving.cli import app

runner = CliRunner()


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        result = runner.invoke(
            app,
            ["generate", "--claims", "2000", "--seed", str(seed), "--out", str(tmp_path / name)],
        )
        assert result.exit_code == 0, result.output
    a, b, c = (_digests(tmp_path / n) for n in "abc")
    assert a == b
    assert a["claims.parquet"] != c["claims.parquet"]
    assert set(a) == {f"{t}.parquet" for t in TABLES} | {"truth.parquet"}


def test_cli_generate_then_validate_passes_and_corruption_fails(tmp_path):
    out = tmp_path / "d"
    result = runner.invoke(
        app, ["generate", "--claims", "3000", "--seed", "5", "--out", str(out), "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    assert "first-pass denial rate" in result.output
    ok = runner.invoke(app, ["validate", str(out)])
    assert ok.exit_code == 0 and "valid: 0 error(s)" in ok.output
    claims = (out / "claims.csv").read_text().splitlines()
    claims[5] = claims[5].replace('"professional"', '"dentistry"', 1)
    (out / "claims.csv").write_text("\n".join(claims) + "\n")
    bad = runner.invoke(app, ["validate", str(out)])
    assert bad.exit_code == 1
    assert "claim_type" in bad.output and "row 5 (line 6)" in bad.output
    assert "one of professional, institutional" in bad.output


def test_truth_is_kept_apart(small_world):
    tables, truth = small_world
    truth_only = set(TRUTH.columns) - {"claim_id"}
    for frame in tables.values():
        assert not truth_only & set(frame.columns)
    assert truth["claim_id"].tolist() == tables["claims"]["claim_id"].tolist()
    probabilities = truth[[f"p_{c}" for c in ("eligibility", "documentation", "other")]]
    assert ((probabilities >= 0) & (probabilities <= 1)).all().all()
    category_sum = truth.filter(like="p_").sum(axis=1)
    assert np.allclose(category_sum, 1.0)


def test_labels_follow_truth(small_world):
    """Denials drawn from the truth: the denied have much higher true probability."""
    tables, truth = small_world
    outcome = initial_outcomes(tables["remits"], tables["remit_adjustments"])
    merged = outcome.merge(truth, on="claim_id")
    denied_p = merged.loc[merged["denied"], "denial_probability"].mean()
    paid_p = merged.loc[~merged["denied"], "denial_probability"].mean()
    assert denied_p > 2 * paid_p
    agree = (
        merged.loc[merged["denied"], "denial_category"] == merged.loc[merged["denied"], "category"]
    )
    assert agree.mean() > 0.97  # the label's CARC category is the category drawn


@pytest.mark.slow
def test_calibration_lands_within_documented_tolerances():
    tables, _ = generate(WorldConfig(n_claims=100_000, seed=21))
    table = calibration_table(tables)
    misses = table[~table["within"]]
    assert misses.empty, "\n" + misses.to_string()


def _claims_with_truth(small_world) -> pd.DataFrame:
    tables, truth = small_world
    claims = tables["claims"].merge(truth, on="claim_id")
    return claims.merge(tables["payers"], on="payer_id")


def test_direction_filing_past_the_limit_is_denied(small_world):
    claims = _claims_with_truth(small_world)
    lag = (claims["submission_date"] - claims["service_date_to"]).dt.days
    late = lag > claims["timely_filing_days"]
    assert late.sum() > 10
    assert claims.loc[late, "denial_probability"].min() >= 0.95
    assert claims.loc[~late, "denial_probability"].mean() < 0.2


def test_direction_missing_eligibility_check_raises_risk(small_world):
    claims = _claims_with_truth(small_world)
    unverified = claims["eligibility_verified_date"].isna()
    assert (
        claims.loc[unverified, "p_eligibility"].mean()
        > 1.5 * claims.loc[~unverified, "p_eligibility"].mean()
    )


def test_direction_prior_auth_number_lowers_auth_risk_on_listed_codes(small_world):
    tables, _ = small_world
    world = build_world(WorldConfig(n_claims=6_000, seed=3))
    listed = {
        (world.payers["payer_id"][i], world.codes[j])
        for i, j in zip(*np.nonzero(world.pa_required), strict=True)
    }
    lines = tables["claim_lines"].merge(tables["claims"][["claim_id", "payer_id"]], on="claim_id")
    key = list(zip(lines["payer_id"], lines["procedure_code"], strict=True))
    needs = set(lines.loc[[k in listed for k in key], "claim_id"])
    claims = _claims_with_truth(small_world)
    claims = claims[claims["claim_id"].isin(needs)]
    has_auth = claims["prior_auth_number"].notna()
    assert has_auth.sum() > 20 and (~has_auth).sum() > 5
    p_auth = claims["denial_probability"] * claims["p_authorization"]
    assert p_auth[~has_auth].mean() > 5 * p_auth[has_auth].mean()


def test_scenario_changes_only_what_comes_after_the_policy(tmp_path):
    base_tables, base_truth = generate(WorldConfig(n_claims=20_000, seed=4))
    new_tables, new_truth = generate(
        WorldConfig(n_claims=20_000, seed=4, scenario="payer-policy-change")
    )
    change = pd.Timestamp(
        build_world(WorldConfig(n_claims=20_000, seed=4)).policy_change_day, unit="D"
    )
    before = base_tables["claims"]["service_date_from"] < change
    pd.testing.assert_frame_equal(base_tables["claims"][before], new_tables["claims"][before])
    flagged = new_truth["scenario_flag"]
    assert flagged.sum() > 20 and not base_truth["scenario_flag"].any()
    lines = new_tables["claim_lines"]
    claims = new_tables["claims"]
    therapy = claims["claim_id"].isin(
        lines.loc[lines["procedure_code"].isin(POLICY_CHANGE_CODES), "claim_id"]
    ) & (claims["payer_id"] == POLICY_CHANGE_PAYER)
    after = therapy & ~before
    p_auth_new = (new_truth["denial_probability"] * new_truth["p_authorization"])[after].mean()
    p_auth_old = (base_truth["denial_probability"] * base_truth["p_authorization"])[after].mean()
    assert p_auth_new > 3 * p_auth_old


def test_bad_config_is_a_clear_error():
    with pytest.raises(ValueError, match="scenario must be one of none, payer-policy-change"):
        WorldConfig(n_claims=10, scenario="tariffs")
    result = runner.invoke(app, ["generate", "--claims", "0"])
    assert result.exit_code == 2 and "--claims" in result.output


def test_unwritable_output_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    result = runner.invoke(app, ["generate", "--claims", "50", "--out", str(blocker / "sub")])
    assert result.exit_code == 2
    assert "cannot write to" in result.output and "--out" in result.output
    assert "Traceback" not in result.output


def test_realtime_eligibility_adds_a_check_at_every_submission():
    """--realtime-eligibility: one real-time 271 per claim, checked the day it went out."""
    tables, _ = generate(WorldConfig(n_claims=800, seed=4, realtime_eligibility=True))
    responses = tables["eligibility"]
    realtime = responses[responses["source"] == "realtime"]
    assert len(realtime) == len(tables["claims"])
    assert sorted(realtime["checked_date"]) == sorted(tables["claims"]["submission_date"])
