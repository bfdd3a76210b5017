"""Each fix re-scored through the scoring path, held against the generator's truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient

from features.generate import counterfactual
from serving.app import create_app
from serving.settings import Settings
from serving.state import load
from tests.conftest import SMALL
from tests.test_serving import _claim_json
from training.fixes import diagnosis_orders
from training.scoring import score_valid

#: Each fix → the same change made to the world's hidden facts (features.generate.drivers).
TRUE_CHANGE = {
    "add_prior_authorization": lambda d: d.assign(has_auth=True),
    "add_therapy_modifier": lambda d: d.assign(gp_missing=False),
    "add_modifier_AT": lambda d: d.assign(at_missing=False),
    "verify_eligibility": lambda d: d.assign(verified=True, stale=False, lapsed=False),
    "add_original_claim_reference": lambda d: d.assign(replacement_no_original=False),
}


def _recent(tables: dict, days: int = 120) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
    claims = tables["claims"]
    recent = claims["submission_date"] >= claims["submission_date"].max() - pd.Timedelta(days=days)
    c = claims[recent]
    return (
        np.flatnonzero(recent.to_numpy()),
        c,
        tables["claim_lines"][tables["claim_lines"]["claim_id"].isin(c["claim_id"])],
    )


def test_rescored_fixes_land_where_the_worlds_truth_does(trained, small_world):
    """For the recent claims each fix applies to, the mean risk with the fix made is within
    3 points of the true probability after the same change."""
    tables, _ = small_world
    rows, claims, lines = _recent(tables)
    scores = score_valid(trained[0].model, claims, lines, "all", eligibility=tables["eligibility"])
    checked = []
    for fix, change in TRUE_CHANGE.items():
        got = [(r, f) for r, s in zip(rows, scores, strict=True) for f in s["fixes"]
               if f["fix"] == fix]  # fmt: skip
        if len(got) < 20:
            continue
        index = np.array([r for r, _ in got])
        _, after = counterfactual(SMALL, change)
        model_after = np.mean([f["risk_after"] for _, f in got])
        assert abs(model_after - after[index].mean()) < 0.03, (
            fix,
            model_after,
            after[index].mean(),
        )
        checked.append(fix)
    assert {"add_prior_authorization", "verify_eligibility"} <= set(checked), checked


def test_fixes_are_ranked_by_the_risk_they_remove_and_say_what_is_needed(trained, small_world):
    tables, _ = small_world
    _, claims, lines = _recent(tables)
    scores = score_valid(trained[0].model, claims, lines, "all", eligibility=tables["eligibility"])
    with_fixes = [s for s in scores if s["fixes"]]
    assert with_fixes
    for s in with_fixes:
        removes = [f["removes"] for f in s["fixes"]]
        assert removes == sorted(removes, reverse=True)
        for f in s["fixes"]:
            assert abs(f["risk"] - s["denial_probability"]) < 1e-4
            assert f["removes"] == round(f["risk"] - f["risk_after"], 4)
            if f["fix"] in ("add_prior_authorization", "verify_eligibility"):
                assert f["needs"]  # the claim cannot take it until the biller has it


def test_a_pointer_change_follows_its_diagnosis():
    header = {"diagnosis_codes": "M5450|R69|Z0000"}
    lines = [
        {"diagnosis_pointers": "1:2"},
        {"diagnosis_pointers": "3"},
        {"diagnosis_pointers": None},
    ]
    orders = diagnosis_orders(header, lines)
    assert [code for code, _, _ in orders] == ["R69", "Z0000"]
    _, head, moved = orders[0]
    assert head["diagnosis_codes"] == "R69|M5450|Z0000"
    assert [x["diagnosis_pointers"] for x in moved] == ["2:1", "3", None]


def test_the_api_returns_each_fix_rescored(trained, small_world):
    tables, _ = small_world
    claims = tables["claims"]
    no_auth = claims[claims["prior_auth_number"].isna()].iloc[-1]["claim_id"]
    body = {"claims": [_claim_json(tables, no_auth)], "explain": "all"}
    with TestClient(create_app(Settings(api_keys="k"), load(str(trained[0].folder)))) as c:
        r = c.post("/v1/claims/score", json=body, headers={"X-API-Key": "k"})
    assert r.status_code == 200, r.text
    fixes = {f["fix"]: f for f in r.json()["scores"][0]["fixes"]}
    auth = fixes["add_prior_authorization"]
    assert auth["action"].startswith("Add the prior authorization number")
    assert 0 <= auth["risk_after"] <= 1 and auth["needs"]
