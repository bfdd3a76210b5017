"""Eligibility responses: the 271 reader and writer, the latest-response features, the API."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from features.claim_features import as_columns
from features.contract import CLAIMS, ELIGIBILITY
from features.eligibility import eligibility_features
from features.validate import validate_frames
from features.x12.ingest import ingest
from features.x12.write import write_271
from serving.app import create_app
from serving.settings import Settings
from serving.state import load
from tests.test_serving import _claim_json

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "x12-271"
needs_shared = pytest.mark.skipif(
    not SHARED.exists(),
    reason=f"the shared 271 samples are not at {SHARED} (they live beside the repository, never "
    "in it); these tests read them when present",
)
KEY = "test-key-1"
AUTH = {"X-API-Key": KEY}


@needs_shared
def test_every_shared_271_is_read_and_the_error_response_is_a_status():
    result = ingest([SHARED])
    assert len(result.files) == 9
    for f in result.files:
        assert f.kind == "271" and not f.error and not f.rejected, f.path.name
        assert f.responses == 1, f.path.name
    rows = result.tables["eligibility"].set_index("response_id")
    # albmarin's AAA*Y**50*N at the receiver level: the payer will not answer this clinic
    error = rows[rows["reject_reason"] == "50"]
    assert len(error) == 1
    assert error["coverage_status"].item() == "rejected" and pd.isna(error["member_id"].item())
    assert rows.loc["TRACE0002", "coverage_status"] == "rejected"  # AAA 72 on the subscriber
    assert rows.loc["TRACE0002", "reject_reason"] == "72"
    assert rows.loc["TRACE0001", "coverage_status"] == "active"
    assert rows.loc["TRACE0001", "checked_date"] == "2026-04-12"
    assert rows.loc["TRACE0001", "payer_id"] == "DCMEDICAID"
    # the dependent response: the subscriber's member id, no patient of its own, plan begin kept
    dependent = rows[rows["patient_id"].isna() & rows["member_id"].notna()]
    assert dependent["member_id"].tolist() == ["123456789"]
    assert dependent["plan_begin_date"].tolist() == ["2006-01-01"]
    typed, _, report = validate_frames({"eligibility": result.tables["eligibility"],
                                        "payers": result.tables["payers"]})  # fmt: skip
    assert not [p for p in report.problems if p.table == "eligibility" and p.level == "error"]
    assert len(typed["eligibility"]) == 9


#: A receiver-level rejection: the payer answered no member at all.
NO_MEMBER = {
    "response_id": "E-NOMEMBER",
    "patient_id": None,
    "payer_id": "COM01",
    "member_id": None,
    "checked_date": pd.Timestamp("2024-05-01"),
    "coverage_status": "rejected",
    "reject_reason": "50",
    "plan_begin_date": pd.NaT,
    "plan_end_date": pd.NaT,
    "source": "271",
}


def test_271_round_trip_reads_back_equal(small_world, tmp_path):
    tables, _ = small_world
    statuses = tables["eligibility"].groupby("coverage_status").head(40)
    sample = pd.concat(
        [
            statuses,
            tables["eligibility"][tables["eligibility"]["plan_end_date"].notna()].head(40),
            pd.DataFrame([NO_MEMBER]),
        ],
        ignore_index=True,
    ).drop_duplicates("response_id")
    assert set(sample["coverage_status"]) == {"active", "inactive", "rejected"}
    path = write_271({"eligibility": sample, "payers": tables["payers"]}, tmp_path)
    result = ingest([path])
    assert not result.files[0].rejected and not result.files[0].error
    typed, _, _ = validate_frames(
        {"eligibility": result.tables["eligibility"], "payers": tables["payers"]}
    )
    back = typed["eligibility"].reset_index(drop=True)
    expected = sample.reset_index(drop=True).astype(ELIGIBILITY.dtypes())
    expected.loc[expected["patient_id"].isna(), "patient_id"] = None
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)


def _claims(rows: list[tuple[str, str, str, str]]) -> dict:
    """(claim_id, patient, service date, submission date) → claim columns."""
    return as_columns(
        {
            "claim_id": [r[0] for r in rows],
            "patient_id": [r[1] for r in rows],
            "payer_id": ["COM01"] * len(rows),
            "claim_type": ["professional"] * len(rows),
            "frequency_code": ["1"] * len(rows),
            "service_date_from": [r[2] for r in rows],
            "service_date_to": [r[2] for r in rows],
            "submission_date": [r[3] for r in rows],
            "total_charge": [100.0] * len(rows),
        },
        CLAIMS,
    )


def test_each_claim_reads_the_latest_response_it_could_have_had():
    responses = pd.DataFrame(
        [
            ("R1", "P1", "2024-01-05", "active", None, "2023-01-01", "2024-02-29"),
            ("R2", "P1", "2024-03-10", "inactive", None, "2023-01-01", "2024-02-29"),
            ("R3", "P2", "2024-01-05", "rejected", "75", None, None),
            ("R4", "P3", "2024-04-01", "inactive", None, None, None),
            ("R5", "P4", "2024-01-01", "active", None, "2024-06-01", None),
        ],
        columns=["response_id", "patient_id", "checked_date", "coverage_status",
                 "reject_reason", "plan_begin_date", "plan_end_date"],
    ).assign(payer_id="COM01", source="271")  # fmt: skip
    claims = _claims(
        [
            ("C1", "P1", "2024-02-01", "2024-02-03"),  # R1: the plan runs to Feb 29
            ("C2", "P1", "2024-03-05", "2024-03-08"),  # R1 still (R2 came later): plan ended
            ("C3", "P1", "2024-03-05", "2024-03-12"),  # R2, and the service is after its end
            ("C4", "P1", "2024-01-02", "2024-01-03"),  # nothing checked yet
            ("C5", "P2", "2024-01-10", "2024-01-12"),  # rejected inquiry
            ("C6", "P3", "2024-03-20", "2024-04-02"),  # inactive, no end date given
            ("C7", "P4", "2024-02-01", "2024-02-02"),  # the plan has not begun
            ("C8", None, "2024-02-01", "2024-02-02"),  # no patient: nothing to match
        ]
    )
    f = eligibility_features(claims, responses)
    assert f["eligibility_coverage"].tolist() == [
        "active", "ended", "ended", None, "rejected", "inactive", "not_started", None
    ]  # fmt: skip
    np.testing.assert_array_equal(
        f["eligibility_days_since_check"], [29, 63, 2, np.nan, 7, 1, 32, np.nan]
    )
    np.testing.assert_array_equal(
        f["eligibility_plan_days_left"], [28, -5, -5, np.nan, np.nan, np.nan, np.nan, np.nan]
    )
    # an inactive answer whose plan ran past the service says the service was covered
    late = _claims([("C9", "P1", "2024-02-20", "2024-03-15")])
    assert eligibility_features(late, responses)["eligibility_coverage"].tolist() == ["active"]
    none = eligibility_features(claims, None)
    assert all(v is None for v in none["eligibility_coverage"])


@pytest.fixture(scope="module")
def client(trained):
    result, _ = trained
    with TestClient(create_app(Settings(api_keys=KEY), load(str(result.folder)))) as c:
        yield c


def _lapsed_claim(small_world) -> dict:
    """A claim of the newest month as JSON, with a patient id, ready to carry a response."""
    tables, _ = small_world
    claims = tables["claims"]
    newest = claims[claims["submission_date"] >= claims["submission_date"].max() - pd.Timedelta(
        days=30)]  # fmt: skip
    return _claim_json(tables, newest["claim_id"].iloc[0])


def test_the_api_reads_a_claims_own_response_and_a_271_body(client, small_world, tmp_path):
    claim = _lapsed_claim(small_world)
    service = pd.Timestamp(claim["service_date_from"])
    checked = (service - pd.Timedelta(days=20)).strftime("%Y-%m-%d")
    ended = (service - pd.Timedelta(days=10)).strftime("%Y-%m-%d")

    def score(body: dict) -> float:
        r = client.post("/v1/claims/score", json={"explain": "all", **body}, headers=AUTH)
        assert r.status_code == 200, r.text
        return r.json()["scores"][0]["denial_probability"]

    bare = score({"claims": [claim]})
    active = {"checked_date": checked, "coverage_status": "active"}
    lapsed = {**active, "plan_end_date": ended}
    p_active = score({"claims": [{**claim, "eligibility": active}]})
    p_lapsed = score({"claims": [{**claim, "eligibility": lapsed}]})
    assert p_lapsed > max(p_active, bare) + 0.05, (bare, p_active, p_lapsed)
    # the same response as a 271 body gives the same score as the inline object
    row = {"response_id": "T1", "patient_id": claim["patient_id"], "payer_id": claim["payer_id"],
           "member_id": "M1", "checked_date": pd.Timestamp(checked), "coverage_status": "active",
           "reject_reason": None, "plan_begin_date": pd.NaT,
           "plan_end_date": pd.Timestamp(ended), "source": "271"}  # fmt: skip
    tables, _ = small_world
    path = write_271({"eligibility": pd.DataFrame([row]), "payers": tables["payers"]}, tmp_path)
    assert score({"claims": [claim], "eligibility_271": path.read_text()}) == p_lapsed


def test_the_api_refuses_a_response_it_could_not_have_had(client, small_world):
    claim = _lapsed_claim(small_world)
    late = {"checked_date": "2099-01-01", "coverage_status": "active"}
    r = client.post("/v1/claims/score", json={"claims": [{**claim, "eligibility": late}]},
                    headers=AUTH)  # fmt: skip
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "claims[0].eligibility.checked_date"
    r = client.post("/v1/claims/score", json={"claims": [{**claim, "patient_id": None,
                    "eligibility": {"checked_date": "2020-01-01", "coverage_status": "active"}}]},
                    headers=AUTH)  # fmt: skip
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "no_patient"
    r = client.post(
        "/v1/claims/score", json={"claims": [claim], "eligibility_271": "not x12"}, headers=AUTH
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "eligibility_271"
    assert "no ISA" in r.json()["errors"][0]["problem"]
