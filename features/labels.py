"""Labels, from the contract's single denial rule (``codes.initial_outcomes``) and the appeals.

One row per claim. A claim without a remit yet has no label (NaN), never a guessed one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.codes import initial_outcomes

LABEL_COLUMNS = (
    "label_denied",
    "label_category",
    "label_carc",
    "label_appealed",
    "label_overturned",
    "label_recovered_amount",
    "label_paid_amount",
)


def build_labels(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per claim: first-pass outcome, its category and CARC, and how any appeal ended.

    ``label_overturned`` is 1 when any appeal of the claim was won, 0 when every appeal was
    decided against, NaN while one is pending or when none was filed; ``label_recovered_amount``
    sums what decided appeals recovered. ``label_paid_amount`` is what the payer paid on first pass
    when it paid: the recoverable amount a denial of a similar claim puts at stake. Also returns
    the facts the worklist needs: the first remit's date, the denied amount and the appeal deadline.
    """
    claims = tables["claims"][["claim_id", "payer_id", "total_charge"]]
    outcome = initial_outcomes(tables["remits"], tables["remit_adjustments"])
    frame = claims.merge(outcome, on="claim_id", how="left")
    denied = frame["denied"]
    frame["label_denied"] = denied.astype("float64")
    frame["label_category"] = frame["denial_category"].astype("str").where(denied == True)  # noqa: E712
    frame["label_carc"] = frame["denial_carc"].astype("str").where(denied == True)  # noqa: E712

    appeals = tables["appeals"]
    by_claim = appeals.groupby("claim_id").agg(
        appeals=("appeal_id", "size"),
        won=("outcome", lambda o: bool((o == "overturned").any())),
        pending=("outcome", lambda o: bool((o == "pending").any())),
        recovered=("recovered_amount", "sum"),
    )
    stats = by_claim.reindex(frame["claim_id"]).reset_index(drop=True)
    appealed = stats["appeals"].notna()
    frame["label_appealed"] = np.where(denied == True, appealed.astype(float), np.nan)  # noqa: E712
    decided = appealed & (
        stats["won"].fillna(False).astype(bool) | ~stats["pending"].fillna(True).astype(bool)
    )
    frame["label_overturned"] = np.where(decided, stats["won"].astype(float), np.nan)
    frame["label_recovered_amount"] = np.where(decided, stats["recovered"], np.nan)

    frame["label_paid_amount"] = frame["paid_amount"].where(denied == False)  # noqa: E712

    window = frame["payer_id"].map(tables["payers"].set_index("payer_id")["appeal_window_days"])
    frame["appeal_deadline"] = appeal_deadline(frame["remit_date"], window)
    frame["denied_amount"] = np.where(denied == True, frame["total_charge"], np.nan)  # noqa: E712
    return frame[["claim_id", *LABEL_COLUMNS, "remit_date", "appeal_deadline", "denied_amount"]]


def appeal_deadline(denial_date: pd.Series, window_days: pd.Series | np.ndarray) -> pd.Series:
    """The last day to appeal: the denial's remit date plus the payer's appeal window.

    Unknown window (a payer never seen) → unknown deadline (NaT), never a guessed one.
    """
    window = pd.to_timedelta(np.asarray(window_days, dtype=float), unit="D")
    return denial_date + pd.Series(window, index=denial_date.index)


def open_denials(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The denials still to be worked: first-pass denials with no later payment and no decided
    appeal. One row per claim: ``claim_id``, ``carc_codes`` (the denying remit's adjustments as
    ``GROUP-CARC``, in file order, then its remarks), ``denied_amount`` (the billed charge, as
    the labels count it) and ``denial_date`` (the remit date)."""
    outcome = initial_outcomes(tables["remits"], tables["remit_adjustments"])
    denied = outcome[outcome["denied"] == True]  # noqa: E712
    remits = tables["remits"]
    later = remits.merge(denied[["claim_id", "remit_date"]], on="claim_id", suffixes=("", "_d"))
    paid_later = later[
        (later["remit_date"] >= later["remit_date_d"])
        & (later["paid_amount"] > 0)
        & (later["claim_status_code"] != "22")
    ]["claim_id"]
    appeals = tables["appeals"]
    decided = appeals[appeals["outcome"].isin(["overturned", "upheld"])]["claim_id"]
    still = denied[~denied["claim_id"].isin(paid_later) & ~denied["claim_id"].isin(decided)]
    adj = tables["remit_adjustments"]
    adj = adj[adj["remit_id"].isin(still["remit_id"])]
    codes = (adj["group_code"] + "-" + adj["carc"]).groupby(adj["remit_id"], sort=False).agg(list)
    remarks = tables["remit_remarks"]
    remarks = remarks[remarks["remit_id"].isin(still["remit_id"])]
    rarcs = remarks["rarc"].groupby(remarks["remit_id"], sort=False).agg(list)
    charge = tables["claims"].set_index("claim_id")["total_charge"]
    return pd.DataFrame(
        {
            "claim_id": still["claim_id"].to_numpy(),
            "carc_codes": [codes.get(r, []) + rarcs.get(r, []) for r in still["remit_id"].tolist()],
            "denied_amount": still["claim_id"].map(charge).to_numpy(dtype=float),
            "denial_date": still["remit_date"].to_numpy(),
        }
    )
