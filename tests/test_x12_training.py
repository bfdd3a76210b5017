"""Train from what a practice has: its 837s and 835s, no appeals export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.generate import WorldConfig, generate
from features.io import load_dataset
from features.labels import MIN_DECIDED_APPEALS, RECOVERY_WAIT_DAYS, build_labels
from features.x12.ingest import ingest, write_ingested
from features.x12.write import write_x12
from training.priors import OVERTURN_PRIOR, PriorRecovery
from training.run import train


def _world(remits: list[tuple], appeals: list[tuple] = ()) -> dict[str, pd.DataFrame]:
    """A hand-made world: one payer with a 30-day appeal window, claims C1..C5 of $100."""
    claims = pd.DataFrame({"claim_id": [f"C{i}" for i in range(1, 6)], "payer_id": "P1"})
    claims["total_charge"] = 100.0
    cols = [
        "remit_id",
        "claim_id",
        "payer_claim_control_number",
        "claim_status_code",
        "remit_date",
        "paid_amount",
    ]
    r = pd.DataFrame(remits, columns=cols).assign(payer_id="P1", charge_amount=100.0)
    r["remit_date"] = pd.to_datetime(r["remit_date"])
    denials = r[r["paid_amount"] == 0]["remit_id"]
    adj = pd.DataFrame(
        {
            "remit_id": denials,
            "claim_id": r.loc[denials.index, "claim_id"],
            "group_code": "CO",
            "carc": "16",
            "amount": 100.0,
        }
    )
    return {
        "claims": claims,
        "payers": pd.DataFrame({"payer_id": ["P1"], "appeal_window_days": [30]}),
        "remits": r,
        "remit_adjustments": adj,
        "appeals": pd.DataFrame(
            list(appeals), columns=["appeal_id", "claim_id", "outcome", "recovered_amount"]
        ),
    }


def test_835s_alone_say_which_denials_were_recovered_and_for_how_much():
    end = pd.Timestamp("2025-12-31")
    old = f"{end - pd.Timedelta(days=30 + RECOVERY_WAIT_DAYS + 5):%Y-%m-%d}"
    labels = build_labels(
        _world(
            [
                ("R1", "C1", "A1", "1", "2025-01-10", 0.0),  # denied, then paid later: recovered
                ("R1b", "C1", "A1", "1", "2025-03-01", 80.0),
                ("R2", "C2", "B2", "1", "2025-01-10", 0.0),  # denied, re-keyed claim paid by PCCN
                ("R2b", "C2-X", "B2", "1", "2025-02-01", 60.0),
                ("R3", "C3", "C3", "1", "2025-01-10", 0.0),  # paid, reversed, nothing after: net 0
                ("R3b", "C3", "C3", "1", "2025-02-01", 50.0),
                ("R3c", "C3", "C3", "22", "2025-02-10", -50.0),
                ("R4", "C4", "D4", "1", old, 0.0),  # denied long ago, never paid: not recovered
                ("R5", "C5", "E5", "1", f"{end:%Y-%m-%d}", 0.0),  # denied yesterday: not known yet
            ]
        )
    ).set_index("claim_id")
    assert labels["label_recovery_source"].dropna().unique().tolist() == ["remits"]
    assert (
        labels.loc["C1", "label_overturned"] == 1
        and labels.loc["C1", "label_recovered_amount"] == 80
    )
    assert (
        labels.loc["C2", "label_overturned"] == 1
        and labels.loc["C2", "label_recovered_amount"] == 60
    )
    assert (
        labels.loc["C3", "label_overturned"] == 0
        and labels.loc["C3", "label_recovered_amount"] == 0
    )
    assert labels.loc["C4", "label_overturned"] == 0
    assert np.isnan(labels.loc["C5", "label_overturned"])
    assert labels["label_appealed"].isna().all()  # an 835 does not say whether one was filed


def test_an_appeals_export_takes_precedence_over_the_835s():
    remits = [(f"R{i}", f"C{i}", f"P{i}", "1", "2025-01-10", 0.0) for i in range(1, 6)]
    remits.append(("R1b", "C1", "P1", "1", "2025-03-01", 80.0))
    appeals = [(f"A{i}", "C2", "upheld", 0.0) for i in range(MIN_DECIDED_APPEALS)]
    labels = build_labels(_world(remits, appeals)).set_index("claim_id")
    assert labels.loc["C2", "label_overturned"] == 0
    assert labels.loc["C2", "label_recovery_source"] == "appeals"
    assert np.isnan(labels.loc["C1", "label_overturned"])  # paid later, but no appeal on file


@pytest.fixture(scope="module")
def ingested_dir(tmp_path_factory):
    tables, _ = generate(WorldConfig(n_claims=8_000, seed=21))
    folder = tmp_path_factory.mktemp("x12-only")
    result = ingest(write_x12(tables, folder / "x12"))
    assert result.tables["appeals"].empty
    write_ingested(result, folder / "data")
    return folder / "data"


@pytest.mark.slow
def test_train_from_x12_alone_learns_recovery_from_the_835s(ingested_dir, tmp_path):
    messages: list[str] = []
    result = train(
        ingested_dir,
        tmp_path / "m",
        tracking_uri=f"sqlite:///{tmp_path}/ml.db",
        echo=messages.append,
    )
    recovery = result.model.metadata["recovery"]
    assert recovery["labels"] == "remits"
    assert recovery["model"] == "booster", recovery
    assert any("(remits)" in m for m in messages)
    # nothing an 837 lacks can matter to this model: it never saw eligibility dates
    importance = dict(
        zip(
            result.model.pipeline.get_feature_names_out(),
            result.model.denial.feature_importance(),
            strict=True,
        )
    )
    assert importance["eligibility_verified"] == importance["eligibility_days_before_service"] == 0


@pytest.mark.slow
def test_too_few_recoveries_train_the_rest_and_say_the_prior_is_used(ingested_dir, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for f in ingested_dir.iterdir():
        frame = pd.read_csv(f, dtype=str, keep_default_na=False)
        if f.name == "remits.csv":  # keep first remits only: no denial is ever paid later
            frame = frame.drop_duplicates("claim_id")
        frame.to_csv(data / f.name, index=False)
    messages: list[str] = []
    result = train(
        data, tmp_path / "m", tracking_uri=f"sqlite:///{tmp_path}/ml.db", echo=messages.append
    )
    model = result.model
    assert isinstance(model.recovery, PriorRecovery)
    assert model.metadata["recovery"]["model"] == "prior"
    assert any("published overturn rates" in m for m in messages)
    tables, _ = load_dataset(data)
    claims = tables["claims"].head(2)
    lines = tables["claim_lines"][tables["claim_lines"]["claim_id"].isin(claims["claim_id"])]
    x = model.pipeline.transform_matrix(claims, lines)
    odds = model.recovery_probability(x, np.array(["timely_filing", "coding"], dtype=object))
    assert odds.tolist() == [OVERTURN_PRIOR["timely_filing"], OVERTURN_PRIOR["coding"]]
