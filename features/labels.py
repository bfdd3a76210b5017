"""Labels, from the contract's single denial rule (``codes.initial_outcomes``) and the appeals.

One row per claim. A claim without a remit yet has no label (NaN), never a guessed one.

Recovery labels answer one of two questions, never a mix of both:

- ``appeals``: with a practice-management export of at least ``MIN_DECIDED_APPEALS`` decided
  appeals, "was the appeal won?" (P(overturned | appealed)). These take precedence.
- ``remits``: otherwise, what the 835s alone show: "was the denied claim later paid by its payer?"
  (a later payment for the same claim id or payer claim control number, net of reversals), and
  "not recovered" once its appeal window and ``RECOVERY_WAIT_DAYS`` more have passed unpaid.
  835s do not say whether an appeal was filed, so this is P(recovered | denied), lower than the
  odds of a worked appeal; the model's metadata records which question it learnt.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    "label_recovery_source",
)

#: Fewer decided appeals than this in the export, and the 835s teach recovery instead.
MIN_DECIDED_APPEALS = 200
#: An unpaid denial counts as not recovered this many days after its appeal window closed: time
#: for an appeal filed on the last day to be decided (ERISA: 60 days) and the payment to arrive.
RECOVERY_WAIT_DAYS = 90


@dataclass(frozen=True)
class LabelFacts:
    """What labels read from the whole data, not from one claim's rows: which question recovery
    labels answer, and the last remit date (when unpaid denials count as not recovered). A month
    of a partitioned dataset is labelled with the facts of all of it."""

    source: str  # "appeals" | "remits"
    end: pd.Timestamp

    @classmethod
    def of(cls, tables: dict[str, pd.DataFrame]) -> LabelFacts:
        return cls.combine([cls.part(tables)])

    @staticmethod
    def part(tables: dict[str, pd.DataFrame]) -> tuple[int, pd.Timestamp]:
        """A partition's share of the facts: decided appeals, last remit date."""
        return int(_decided(tables["appeals"]).sum()), tables["remits"]["remit_date"].max()

    @classmethod
    def combine(cls, parts: list[tuple[int, pd.Timestamp]]) -> LabelFacts:
        decided = sum(n for n, _ in parts)
        ends = [end for _, end in parts if pd.notna(end)]
        source = "appeals" if decided >= MIN_DECIDED_APPEALS else "remits"
        return cls(source, max(ends) if ends else pd.NaT)


def build_labels(
    tables: dict[str, pd.DataFrame],
    facts: LabelFacts | None = None,
    outcome: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per claim: first-pass outcome, its category and CARC, and how any appeal ended.

    ``label_overturned`` is 1 when the denial was recovered, 0 when it was not, NaN while that is
    not yet known, from the appeals or the 835s (see the module's docstring; which one is in
    ``label_recovery_source``); ``label_recovered_amount`` is the dollars recovered.
    ``label_paid_amount`` is what the payer paid on first pass
    when it paid: the recoverable amount a denial of a similar claim puts at stake. Also returns
    the facts the worklist needs: the first remit's date, the denied amount and the appeal deadline.
    ``outcome``: the tables' ``initial_outcomes`` when the caller has them already.
    """
    claims = tables["claims"][["claim_id", "payer_id", "total_charge"]]
    if outcome is None:
        outcome = initial_outcomes(tables["remits"], tables["remit_adjustments"])
    frame = claims.merge(outcome, on="claim_id", how="left")
    denied = frame["denied"]
    frame["label_denied"] = denied.astype("float64")
    frame["label_category"] = frame["denial_category"].astype("str").where(denied == True)  # noqa: E712
    frame["label_carc"] = frame["denial_carc"].astype("str").where(denied == True)  # noqa: E712

    window = frame["payer_id"].map(tables["payers"].set_index("payer_id")["appeal_window_days"])
    frame["appeal_deadline"] = appeal_deadline(frame["remit_date"], window)
    facts = facts or LabelFacts.of(tables)
    if facts.source == "appeals":
        won, amount = _appeal_outcomes(frame["claim_id"], tables["appeals"])
        appealed = frame["claim_id"].isin(tables["appeals"]["claim_id"]).astype(float)
        frame["label_appealed"] = appealed.where(denied == True)  # noqa: E712
        source = "appeals"
    else:
        won, amount = _remit_outcomes(frame, tables["remits"], facts.end)
        frame["label_appealed"] = np.nan  # 835s do not say whether an appeal was filed
        source = "remits"
    frame["label_overturned"] = won
    frame["label_recovered_amount"] = amount
    frame["label_recovery_source"] = pd.array(np.where(np.isnan(won), None, source), dtype="str")
    frame["label_paid_amount"] = frame["paid_amount"].where(denied == False)  # noqa: E712
    frame["denied_amount"] = np.where(denied == True, frame["total_charge"], np.nan)  # noqa: E712
    return frame[["claim_id", *LABEL_COLUMNS, "remit_date", "appeal_deadline", "denied_amount"]]


def _decided(appeals: pd.DataFrame) -> pd.Series:
    return appeals["outcome"].isin(["overturned", "upheld"])


def _appeal_outcomes(claim_id: pd.Series, appeals: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per claim: 1 when any appeal was won, 0 when every one was decided against, NaN while one is
    pending or none was filed; and the dollars decided appeals recovered."""
    outcome = appeals["outcome"]
    by_claim = (
        pd.DataFrame(
            {
                "won": (outcome == "overturned").to_numpy(dtype=bool),
                "pending": (outcome == "pending").to_numpy(dtype=bool),
                "recovered": appeals["recovered_amount"].to_numpy(dtype=float),
                "claim_id": appeals["claim_id"].to_numpy(),
            }
        )
        .groupby("claim_id")
        .agg(won=("won", "any"), pending=("pending", "any"), recovered=("recovered", "sum"))
    )
    stats = by_claim.reindex(claim_id)
    filed = stats["won"].notna().to_numpy()
    won = stats["won"].fillna(False).to_numpy(dtype=bool)
    decided = filed & (won | ~stats["pending"].fillna(True).to_numpy(dtype=bool))
    return (
        np.where(decided, won.astype(float), np.nan),
        np.where(decided, stats["recovered"].to_numpy(dtype=float), np.nan),
    )


def _remit_outcomes(
    frame: pd.DataFrame, remits: pd.DataFrame, end: pd.Timestamp
) -> tuple[np.ndarray, np.ndarray]:
    """Per denied claim, from the 835s alone: 1 when its payer later paid it, with the net amount;
    0 once its appeal window and ``RECOVERY_WAIT_DAYS`` passed unpaid; NaN before that.

    A later remit is one dated on or after the denial for the same claim id, or carrying the
    denial's payer claim control number (a payer may re-key a corrected claim), from the same
    payer. Reversals (CLP02 = 22) carry negative amounts, so the net is what stayed paid.
    """
    denied = frame[(frame["denied"] == True)]  # noqa: E712
    first = denied[["claim_id", "remit_id", "remit_date", "payer_id"]]
    pccn = remits.set_index("remit_id")["payer_claim_control_number"]
    first = first.assign(pccn=first["remit_id"].map(pccn))
    later = pd.concat(
        [
            first.merge(remits, on=["claim_id", "payer_id"], suffixes=("_d", "")),
            first.dropna(subset=["pccn"]).merge(
                remits.drop(columns="claim_id"),
                left_on=["pccn", "payer_id"],
                right_on=["payer_claim_control_number", "payer_id"],
                suffixes=("_d", ""),
            ),
        ]
    )
    later = later[(later["remit_id"] != later["remit_id_d"])]
    later = later[later["remit_date"] >= later["remit_date_d"]].drop_duplicates(
        ["claim_id", "remit_id"]
    )
    net = later.groupby("claim_id")["paid_amount"].sum()
    net = frame["claim_id"].map(net[net > 0])
    settled = frame["appeal_deadline"] + pd.Timedelta(days=RECOVERY_WAIT_DAYS) < end
    won = np.where(net.notna(), 1.0, np.where(settled, 0.0, np.nan))
    won = np.where(frame["denied"] == True, won, np.nan)  # noqa: E712
    return won, np.where(won == 1.0, net.to_numpy(dtype=float), np.where(won == 0, 0.0, np.nan))


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
