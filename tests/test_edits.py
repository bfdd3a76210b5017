"""Mined payer edits against the generator's truth, the edit book as a file, edits at scoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from features.generate import WorldConfig, drivers, generate
from features.generate.world import POLICY_CHANGE_CODES, POLICY_CHANGE_PAYER
from serving.app import create_app
from serving.settings import Settings
from serving.state import load
from tests.test_serving import _claim_json
from training.edits.book import EditBook, EditsError
from training.edits.conditions import Watch, claim_conditions
from training.edits.mine import Thresholds, mine

MECHANISM_WORLD = WorldConfig(n_claims=60_000, seed=5)


def _mechanisms(d: pd.DataFrame) -> dict[str, tuple[str, np.ndarray]]:
    """Each mechanism of the generator (outcomes.hazard_shapes) → its denial reason and flag."""
    return {
        "coverage lapsed": ("eligibility", d["lapsed"]),
        "eligibility not checked": ("eligibility", ~d["verified"]),
        "authorization missing": ("authorization", d["pa_required"] & ~d["has_auth"]),
        "invalid modifier": ("coding", d["invalid_modifier"]),
        "therapy modifier missing": ("coding", d["gp_missing"]),
        "diagnosis mismatch (coding)": ("coding", d["dx_mismatch"]),
        "diagnosis mismatch (necessity)": ("medical_necessity", d["dx_mismatch"]),
        "clinical review": ("medical_necessity", d["clinical_review"] > 0),
        "modifier 59": ("documentation", d["has_59"]),
        "replacement without original": ("duplicate", d["replacement_no_original"]),
        "other coverage": ("coordination_of_benefits", d["other_coverage"]),
        "not covered": ("non_covered", d["non_covered"]),
        "chiropractic AT missing": ("non_covered", d["at_missing"]),
        "modifier 25 missing": ("bundling", d["mod25_missing"]),
        "NCCI modifier missing": ("bundling", d["bundle_missing"]),
        "credentialing": ("other", d["credential_gap"]),
        "filed late": ("timely_filing", d["late"]),
    }


@pytest.fixture(scope="module")
def mined_world():
    tables, truth = generate(MECHANISM_WORLD)
    return tables, truth, drivers(MECHANISM_WORLD), mine(tables)


def _tripped(tables: dict, edits: pd.DataFrame) -> pd.DataFrame:
    """(claim row, edit row) for every edit each claim of ``tables`` trips."""
    claims = tables["claims"]
    rows = claim_conditions(claims, tables["claim_lines"], Watch.learn(tables["claim_lines"]),
                            tables["eligibility"])  # fmt: skip
    rows["payer"] = claims["payer_id"].to_numpy()[rows["claim"]]
    return rows.merge(edits.reset_index(), on=["payer", "procedure", "condition"])


def test_every_mechanism_behind_one_percent_of_denials_is_found_by_an_edit(mined_world):
    """Found: an edit whose denials for its reason are mostly (>= 80 %) the mechanism's."""
    tables, truth, d, edits = mined_world
    category = truth["category"].to_numpy()
    denied = pd.notna(category)
    hits = _tripped(tables, edits)
    same_reason = category[hits["claim"]] == hits["category"].to_numpy()
    checked = 0
    for name, (reason, flag) in _mechanisms(d).items():
        theirs = flag.to_numpy() & (category == reason)
        if theirs.sum() < 0.01 * denied.sum():
            continue
        checked += 1
        mine_ = hits[same_reason].assign(theirs=theirs[hits["claim"][same_reason]])
        precision = mine_.groupby("index")["theirs"].agg(["mean", "sum"])
        best = precision[precision["sum"] >= 5]["mean"].max()
        assert best >= 0.8, f"{name}: no edit points at it (best precision {best})"
    assert checked >= 12  # the list is the generator's: most mechanisms are that common


def test_edits_are_ranked_by_dollars_and_say_what_they_found(mined_world):
    _, _, _, edits = mined_world
    assert edits["dollars_at_stake"].is_monotonic_decreasing
    book = EditBook.from_mined(edits)
    late = book.edits[book.edits["condition"] == "filed_after:90"].iloc[0]
    assert late["category"] == "timely_filing" and late["carcs"][0] == "29"
    assert late["says"].startswith(f"{late['payer']} has denied claims filed more than 90 days")
    assert (book.edits["review"] == "unreviewed").all() and book.edits["enabled"].all()
    assert (book.edits["lift"] >= 3).all() and (book.edits["claims"] >= 30).all()


def _between(tables: dict, start: pd.Timestamp | None, end: pd.Timestamp | None) -> dict:
    """The claims submitted in [start, end) with their lines and outcomes (eligibility whole)."""
    claims = tables["claims"]
    keep = pd.Series(True, index=claims.index)
    if start is not None:
        keep &= claims["submission_date"] >= start
    if end is not None:
        keep &= claims["submission_date"] < end
    ids = set(claims.loc[keep, "claim_id"])
    return {
        name: frame[frame["claim_id"].isin(ids)] if "claim_id" in frame else frame
        for name, frame in tables.items()
    }


def test_the_policy_change_edit_is_found_after_the_change_and_not_before():
    cfg = WorldConfig(n_claims=40_000, seed=11, scenario="payer-policy-change")
    tables, _ = generate(cfg)
    start, months = pd.Timestamp(cfg.start), cfg.months
    change = start + pd.DateOffset(months=months // 2)

    def auth_edits(part: dict) -> pd.DataFrame:
        edits = mine(part)
        return edits[
            (edits["payer"] == POLICY_CHANGE_PAYER)
            & edits["procedure"].isin(POLICY_CHANGE_CODES)
            & (edits["condition"] == "without_authorization")
            & (edits["category"] == "authorization")
        ]

    assert auth_edits(_between(tables, None, change)).empty
    after = auth_edits(_between(tables, change + pd.DateOffset(months=2), None))
    assert not after.empty
    assert (after["denial_rate"] > 0.3).all()
    # mined over the whole history, the edit starts at the change, not before it
    whole = auth_edits(tables)
    assert not whole.empty
    assert (pd.PeriodIndex(whole["since"], freq="M") >= pd.Period(change, "M")).all()


def test_an_edit_book_round_trips_and_a_switched_off_edit_is_not_tripped(mined_world, tmp_path):
    tables, _, _, edits = mined_world
    path = tmp_path / "edits.yaml"
    EditBook.from_mined(edits).save(path, mined_from="a test world")
    assert path.read_text().startswith("# claimrisk payer edits, mined from a test world")
    book = EditBook.load(path)
    pd.testing.assert_frame_equal(
        book.edits.drop(columns="carcs"),
        EditBook.from_mined(edits).edits.drop(columns="carcs").round(4),
        check_dtype=False,
    )
    claims = tables["claims"].head(2000)
    lines = tables["claim_lines"][tables["claim_lines"]["claim_id"].isin(claims["claim_id"])]
    tripped = book.trips(claims, lines, tables["eligibility"])
    first = next(i for i, t in enumerate(tripped) if t)
    off = tripped[first][0]["id"]
    frame = book.edits.copy()
    frame.loc[frame["id"] == off, "enabled"] = False
    switched = EditBook(frame).trips(claims, lines, tables["eligibility"])
    assert off not in [e["id"] for e in switched[first]]
    assert [e for e in switched[first]] == [e for e in tripped[first] if e["id"] != off]


def test_a_bad_edit_book_names_the_edit_and_the_field(tmp_path):
    path = tmp_path / "edits.yaml"
    path.write_text("edits:\n- id: X\n  payer: COM01\n")
    with pytest.raises(EditsError, match=r"edit 1: `procedure` is missing"):
        EditBook.load(path)
    path.write_text("edits: [1, 2]\n")
    with pytest.raises(EditsError, match=r"edit 1: expected a mapping"):
        EditBook.load(path)
    path.write_text("edits: {")
    with pytest.raises(EditsError, match="not YAML"):
        EditBook.load(path)


def test_the_api_lists_the_edits_a_claim_trips(trained, small_world, tmp_path):
    tables, _ = small_world
    book = EditBook.from_mined(mine(tables, Thresholds(min_claims=20)))
    assert len(book.edits)
    path = tmp_path / "edits.yaml"
    book.save(path, mined_from="small world")
    book = EditBook.load(path)
    claims = tables["claims"].tail(300)
    lines = tables["claim_lines"][tables["claim_lines"]["claim_id"].isin(claims["claim_id"])]
    tripped = book.trips(claims, lines)
    some = [i for i, t in enumerate(tripped) if t][:5]
    assert some, "no claim of the newest 300 trips an edit"
    bodies = [_claim_json(tables, claims["claim_id"].iloc[i]) for i in some]
    result, _ = trained
    with TestClient(create_app(Settings(api_keys="k", edits=path), load(str(result.folder)))) as c:
        r = c.post("/v1/claims/score", json={"claims": bodies}, headers={"X-API-Key": "k"})
        plain = TestClient(create_app(Settings(api_keys="k"), load(str(result.folder))))
        without = plain.post(
            "/v1/claims/score", json={"claims": bodies}, headers={"X-API-Key": "k"}
        )
    assert r.status_code == 200, r.text
    for score, i in zip(r.json()["scores"], some, strict=True):
        assert score["edits"] == tripped[i]
        assert score["edits"][0]["says"].startswith(score["edits"][0]["id"].split("-")[0])
    assert all("edits" not in s for s in without.json()["scores"])  # no book, no edits field
