"""Measure a dataset the way an analyst would and compare it with the calibration targets.

Rates are computed from the remittances through the contract's single denial rule
(``features.codes.initial_outcomes``), never from the truth table, so the table shows what a user
of the generated files would see.
"""

from __future__ import annotations

import pandas as pd

from features.codes import initial_outcomes
from features.generate.targets import TARGETS

#: Appeals are counted only for denials at least this old, so that recent denials, which nobody
#: has had time to appeal yet, do not pull the appeal share down.
MATURE_DAYS = 180
#: A billing provider's rate counts once it has this many adjudicated claims.
MIN_PROVIDER_CLAIMS = 30


def measure(tables: dict[str, pd.DataFrame]) -> dict[str, float]:
    """The calibrated metrics of a dataset, keyed like ``targets.TARGETS``."""
    claims = tables["claims"]
    outcomes = initial_outcomes(tables["remits"], tables["remit_adjustments"])
    ptype = claims.set_index("claim_id")["payer_id"].map(
        tables["payers"].set_index("payer_id")["payer_type"]
    )
    outcomes["payer_type"] = outcomes["claim_id"].map(ptype)
    out: dict[str, float] = {"denial_rate.overall": float(outcomes["denied"].mean())}
    for t, rate in outcomes.groupby("payer_type")["denied"].mean().items():
        out[f"denial_rate.{t}"] = float(rate)
    denied = outcomes[outcomes["denied"]]
    for cat, share in denied["denial_category"].value_counts(normalize=True).items():
        out[f"reason_mix.{cat}"] = float(share)
    clinical = denied["denial_category"].isin(["authorization", "medical_necessity"])
    for t, share in clinical.groupby(denied["payer_type"]).mean().items():
        out[f"clinical_share.{t}"] = float(share)

    billing_npi = outcomes["claim_id"].map(claims.set_index("claim_id")["billing_npi"])
    by_provider = outcomes.groupby(billing_npi)["denied"].agg(["mean", "size"])
    by_provider = by_provider[by_provider["size"] >= MIN_PROVIDER_CLAIMS]
    if len(by_provider):
        out["provider_share_at_or_above_10pct"] = float((by_provider["mean"] >= 0.10).mean())

    appeals = tables["appeals"]
    first_level = appeals[appeals["level"] == 1]
    as_of = tables["remits"]["remit_date"].max()
    mature = denied[denied["remit_date"] <= as_of - pd.Timedelta(days=MATURE_DAYS)]
    if len(mature):
        out["appeal.share_of_denials"] = float(
            mature["claim_id"].isin(first_level["claim_id"]).mean()
        )
    decided = first_level[first_level["outcome"] != "pending"].merge(
        denied[["claim_id", "denial_category"]], on="claim_id", how="left"
    )
    if len(decided):
        won = decided["outcome"] == "overturned"
        out["appeal.overturn_rate"] = float(won.mean())
        by_cat = won.groupby(decided["denial_category"]).mean()
        for cat, rate in by_cat.items():
            out[f"appeal.overturn_rate.{cat}"] = float(rate)
    return out


def calibration_table(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Target, tolerance, generated value and source for every calibrated metric."""
    measured = measure(tables)
    rows = []
    for t in TARGETS:
        got = measured.get(t.metric, float("nan"))
        rows.append(
            {
                "metric": t.metric,
                "target": t.value,
                "tolerance": t.tolerance,
                "generated": got,
                "within": abs(got - t.value) <= t.tolerance,
                "source": t.source,
            }
        )
    return pd.DataFrame(rows)


def render_markdown(table: pd.DataFrame) -> str:
    lines = [
        "| metric | target | ± | generated | within | source |",
        "|---|---:|---:|---:|:---:|---|",
    ]
    for r in table.itertuples(index=False):
        lines.append(
            f"| {r.metric} | {r.target:.3f} | {r.tolerance:.3f} | {r.generated:.3f} | "
            f"{'yes' if r.within else '**no**'} | {r.source} |"
        )
    return "\n".join(lines)
