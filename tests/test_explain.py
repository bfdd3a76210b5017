"""Factors a biller can act on: real values, named owners, claim-fixable first (issue 16)."""

from __future__ import annotations

import re

import numpy as np

from features.generate import drivers
from tests.conftest import SMALL
from training import explain
from training.scoring import score_valid

TEAMS = {"billing", "front_desk", "clinical", "credentialing", "payer_policy", "practice"}


def _scored(trained, small_world, n: int = 1000):
    tables, _ = small_world
    claims = tables["claims"].tail(n)
    lines = tables["claim_lines"][tables["claim_lines"]["claim_id"].isin(claims["claim_id"])]
    scores = score_valid(
        trained[0].model, claims, lines, "flagged", eligibility=tables["eligibility"]
    )
    return claims, scores


def test_factors_name_real_values_and_few_are_generic(trained, small_world):
    _, scores = _scored(trained, small_world)
    found = [f for s in scores for f in s.get("factors") or []]
    assert len(found) > 100
    assert not [f["reason"] for f in found if re.search(r"\(value \d+\)|__other__", f["reason"])]
    generic = [f for f in found if f["action"] == "Review this before submitting"]
    assert len(generic) <= 0.05 * len(found), {f["feature"] for f in generic}
    for s in scores:
        flags = [f["fixable"] for f in s.get("factors") or []]
        assert flags == sorted(flags, reverse=True)  # claim-fixable first
        assert {f["team"] for f in s.get("factors") or []} <= TEAMS


def test_a_claim_fixable_mechanism_gets_a_claim_fixable_factor(trained, small_world):
    """Every flagged claim whose true cause is one a biller can fix on the claim (a missing
    authorization, modifier, original reference, an unchecked or lapsed coverage, a diagnosis
    that does not support the service) has at least one claim-fixable factor."""
    claims, scores = _scored(trained, small_world)
    d = drivers(SMALL).iloc[-len(claims) :].reset_index(drop=True)
    mechanism = (
        (d["pa_required"] & ~d["has_auth"]) | d["gp_missing"] | d["at_missing"]
        | d["mod25_missing"] | d["bundle_missing"] | d["invalid_modifier"] | d["dx_mismatch"]
        | d["replacement_no_original"] | d["lapsed"] | ~d["verified"] | d["stale"]
    ).to_numpy()  # fmt: skip
    flagged = [i for i, s in enumerate(scores) if s.get("factors") is not None]
    needing = [i for i in flagged if mechanism[i]]
    assert len(needing) >= 30
    lacking = [scores[i]["claim_id"] for i in needing
               if not any(f["fixable"] for f in scores[i]["factors"])]  # fmt: skip
    assert not lacking


def test_an_unknown_provider_is_not_said_to_be_denied_often():
    names = explain.FEATURE_NAMES
    values = np.zeros(len(names))
    values[explain.INDEX["provider_npi"]] = np.nan  # a provider history has never seen
    values[explain.INDEX["hist_provider_rate"]] = 0.13
    push = np.zeros(len(names) + 1)
    push[explain.INDEX["hist_provider_rate"]] = 0.5
    context = explain.Context(values=values, procedure="97110", diagnosis="M5450", payer="COM01")
    (factor,) = explain.factors(push, context)
    assert "no denial history here yet" in factor["reason"] and "13%" not in factor["reason"]
    assert factor["team"] == "credentialing" and not factor["fixable"]
