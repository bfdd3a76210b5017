"""Drift: PSI itself, and a surge of eligibility lapses or a shift in the reason mix reported as
drift on the small world (with and without the change), by the real model's monitoring pass."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.monitor import drift as d
from training.monitor.report import RECENT_DAYS, monitor

AS_OF = pd.Timestamp("2025-09-15")


def test_psi_is_near_zero_for_one_population_and_large_for_a_shift_or_new_codes():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=20_000), rng.normal(size=20_000)
    assert d.psi(a, b) < 0.01 and d.level(d.psi(a, b)) == "stable"
    assert d.level(d.psi(a, b + 0.8)) == "major"
    codes = rng.integers(0, 5, 20_000).astype(float)
    new = np.where(rng.random(20_000) < 0.2, 99.0, codes)  # a fifth of claims with a new code
    assert d.psi(codes, codes[::-1], categorical=True) < 0.01
    assert d.psi(codes, new, categorical=True) >= d.PSI_MAJOR
    with_missing = np.where(rng.random(20_000) < 0.3, np.nan, a)  # missing is a bin of its own
    assert d.psi(a, with_missing) >= d.PSI_MAJOR


def _recent(tables: dict) -> pd.DataFrame:
    claims = tables["claims"]
    since = AS_OF - pd.Timedelta(days=RECENT_DAYS)
    return claims[(claims["submission_date"] > since) & (claims["submission_date"] <= AS_OF)]


def _lapse_surge(tables: dict, share: float = 0.4) -> dict:
    """A share of recent claims' patients get a 271 saying their coverage ended, checked the
    day before each claim went out."""
    recent = _recent(tables).sample(frac=share, random_state=0)
    rows = pd.DataFrame(
        {
            "response_id": [f"ESURGE{i:06d}" for i in range(len(recent))],
            "patient_id": recent["patient_id"].to_numpy(),
            "payer_id": recent["payer_id"].to_numpy(),
            "member_id": recent["patient_id"].to_numpy(),
            "checked_date": (recent["submission_date"] - pd.Timedelta(days=1)).to_numpy(),
            "coverage_status": "inactive",
        }
    )
    eligibility = tables["eligibility"]
    rows = rows.reindex(columns=eligibility.columns).astype(eligibility.dtypes.to_dict())
    rows["source"] = eligibility["source"].iloc[0]
    return {**tables, "eligibility": pd.concat([eligibility, rows], ignore_index=True)}


def _reason_shift(tables: dict) -> dict:
    """Every denial remitted in the last days now says CARC 197 (no prior authorization)."""
    remits = tables["remits"]
    remits = remits[remits["remit_date"] > AS_OF - pd.Timedelta(days=RECENT_DAYS)]
    adj = tables["remit_adjustments"].copy()
    hit = adj["remit_id"].isin(remits["remit_id"]) & (adj["group_code"] == "CO")
    adj.loc[hit, "carc"] = "197"
    return {**tables, "remit_adjustments": adj}


@pytest.fixture(scope="module")
def baseline(trained, small_world):
    return monitor(trained[0].model, small_world[0], AS_OF, 90)["drift"]


def _psi(drift: dict, feature: str) -> float:
    return next(f["psi"] for f in drift["features"] if f["feature"] == feature)


def test_a_surge_of_eligibility_lapses_is_reported_as_drift(trained, tables, baseline):
    surged = monitor(trained[0].model, _lapse_surge(tables), AS_OF, 90)["drift"]
    assert _psi(baseline, "eligibility_coverage") < d.PSI_MAJOR
    assert _psi(surged, "eligibility_coverage") >= d.PSI_MAJOR
    found = {(f["scope"], f["what"]) for f in surged["findings"] if f["level"] == "major"}
    assert ("all payers", "feature eligibility_coverage") in found


def test_a_shift_in_the_reason_mix_is_reported_as_drift(trained, tables, baseline):
    shifted = monitor(trained[0].model, _reason_shift(tables), AS_OF, 90)["drift"]
    assert baseline["outcomes"]["reason_mix_psi"] < d.PSI_MAJOR
    assert shifted["outcomes"]["reason_mix_psi"] >= d.PSI_MAJOR
    assert shifted["outcomes"]["current_mix"]["authorization"] > 0.05
    found = {(f["scope"], f["what"]) for f in shifted["findings"]}
    assert ("all payers", "denial reason mix of the remits") in found
    assert ("all payers", "denial reason mix of the remits") not in {
        (f["scope"], f["what"]) for f in baseline["findings"]
    }


def test_history_inputs_are_reported_but_not_judged(baseline):
    judged = {f["feature"] for f in baseline["features"]}
    history = {f["feature"] for f in baseline["history_features"]}
    assert "submission_month" in history and "hist_payer_rate" in history
    assert not judged & history and "eligibility_coverage" in judged
    assert all(not f["what"].startswith("feature hist_") for f in baseline["findings"])
