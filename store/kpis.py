"""Revenue-cycle KPIs from the store, by payer, denial category, provider and month.

Definitions (the usual HFMA MAP-key style; one place, shown with every answer):

- ``denial_rate``: first-pass denied claims ÷ claims with a first-pass remit (a claim's
  first-pass remit is its earliest that is not a reversal; denied by the one denial rule,
  i.e. the claim has a worklist item). Replaced claims (superseded) are not counted twice.
- ``first_pass_yield``: claims paid on their first-pass remit ÷ claims with one.
- ``overturn_rate``: items won ÷ items decided (won + lost).
- ``dollars_denied``: billed charges of first-pass denials; ``dollars_recovered``: what later
  remits paid on them; ``dollars_at_risk``: billed charges of items still being worked.
- A/R aging: claims not yet paid (no remit yet, or a denial still being worked), by days since
  submission, in the buckets 0–30, 31–60, 61–90, 91–120 and over 120.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import Connection, select

from store.schema import claims, remits
from store.schema import worklist_items as items
from store.worklist import ACTIVE

DEFINITIONS = __doc__.split("Definitions")[1].strip()
AGING = ((0, 30), (31, 60), (61, 90), (91, 120), (121, None))
GROUPS = {"payer": "payer_id", "category": "category", "provider": "provider", "month": "month"}


def _frames(conn: Connection) -> pd.DataFrame:
    """One row per claim (replaced claims left out) with its first-pass outcome and item."""
    head = pd.DataFrame(
        conn.execute(
            select(
                claims.c.claim_id,
                claims.c.payer_id,
                claims.c.rendering_npi,
                claims.c.billing_npi,
                claims.c.submission_date,
                claims.c.total_charge,
            ).where(claims.c.superseded_by.is_(None))
        ).all(),
        columns=[
            "claim_id",
            "payer_id",
            "rendering_npi",
            "billing_npi",
            "submission_date",
            "total_charge",
        ],
    )
    head["provider"] = head["rendering_npi"].fillna(head["billing_npi"])
    head["month"] = pd.to_datetime(head["submission_date"]).dt.strftime("%Y-%m")
    first = (
        pd.DataFrame(
            conn.execute(
                select(
                    remits.c.claim_id, remits.c.remit_date, remits.c.remit_id, remits.c.paid_amount
                ).where(remits.c.claim_status_code != "22")
            ).all(),
            columns=["claim_id", "remit_date", "remit_id", "first_paid"],
        )
        .sort_values(["claim_id", "remit_date", "remit_id"])
        .drop_duplicates("claim_id")
    )
    work = pd.DataFrame(
        conn.execute(
            select(
                items.c.claim_id,
                items.c.category,
                items.c.status,
                items.c.denied_amount,
                items.c.recovered_amount,
            )
        ).all(),
        columns=["claim_id", "category", "status", "denied_amount", "recovered_amount"],
    )
    frame = head.merge(first[["claim_id", "first_paid"]], on="claim_id", how="left")
    return frame.merge(work, on="claim_id", how="left")


def _summary(g: pd.DataFrame) -> dict[str, Any]:
    adjudicated = g["first_paid"].notna()
    denied = g["status"].notna()
    decided = g["status"].isin(["won", "lost"])
    clean = adjudicated & ~denied & (g["first_paid"] > 0)
    n = int(adjudicated.sum())
    return {
        "claims": len(g),
        "adjudicated": n,
        "denied": int(denied.sum()),
        "denial_rate": _rate(int((denied & adjudicated).sum()), n),
        "first_pass_yield": _rate(int(clean.sum()), n),
        "overturn_rate": _rate(int((g["status"] == "won").sum()), int(decided.sum())),
        "dollars_denied": round(float(g["denied_amount"].sum()), 2),
        "dollars_recovered": round(float(g["recovered_amount"].fillna(0).sum()), 2),
        "dollars_at_risk": round(float(g.loc[g["status"].isin(ACTIVE), "denied_amount"].sum()), 2),
    }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def _aging(frame: pd.DataFrame, today: dt.date) -> list[dict[str, Any]]:
    unpaid = frame[frame["first_paid"].isna() | frame["status"].isin(ACTIVE)]
    age = (pd.Timestamp(today) - pd.to_datetime(unpaid["submission_date"])).dt.days
    out = []
    for low, high in AGING:
        inside = (age >= low) & (age <= high if high is not None else True)
        out.append(
            {
                "bucket": f"{low}-{high}" if high is not None else f"over {low - 1}",
                "claims": int(inside.sum()),
                "dollars": round(float(unpaid.loc[inside, "total_charge"].sum()), 2),
            }
        )
    return out


def kpis(conn: Connection, today: dt.date) -> dict[str, Any]:
    frame = _frames(conn)
    out: dict[str, Any] = {"as_of": today.isoformat(), "definitions": DEFINITIONS}
    out["total"] = _summary(frame)
    for name, column in GROUPS.items():
        groups = frame.groupby(column, dropna=True, sort=True)
        out[f"by_{name}"] = [{name: key, **_summary(g)} for key, g in groups]
    out["ar_aging"] = _aging(frame, today)
    for row in out["by_category"]:  # a category exists only for denials: rates have no base
        row.update(claims=None, adjudicated=None, denial_rate=None, first_pass_yield=None)
    return out


__all__ = ["DEFINITIONS", "kpis"]
