"""Revenue-cycle KPIs from the store, by payer, denial category, provider, procedure and month.

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

Speed: a claim's facts (payer, provider, main procedure, month, first-pass payment) change only
when a load happens, an item's whenever someone works it. So the claims are read once per load
(cached by the newest load) and the items once per change (by the newest audit row), and every
figure is a vectorised group-by over one row per claim.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Connection, select

from store.schema import audit_log, claim_lines, claims, loads, remits
from store.schema import worklist_items as items
from store.worklist import ACTIVE

DEFINITIONS = __doc__.split("Definitions")[1].split("Speed:")[0].strip()
AGING = ((0, 30), (31, 60), (61, 90), (91, 120), (121, None))
GROUPS = {
    "payer": "payer_id",
    "category": "category",
    "provider": "provider",
    "procedure": "procedure",
    "month": "month",
}


@dataclass(frozen=True)
class Scope:
    """Which claims the KPIs cover: one payer, and submission dates from ``since`` to
    ``until`` (inclusive); empty means all."""

    payer_id: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None


class _Cached:
    """The last frame read for a store, kept while the store's version of it is unchanged."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[Any, pd.DataFrame]] = {}
        self._lock = threading.Lock()

    def get(self, conn: Connection, version: Any, read) -> pd.DataFrame:
        key = conn.engine.url.render_as_string(hide_password=False)
        with self._lock:
            hit = self._held.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
        frame = read(conn)
        with self._lock:
            self._held[key] = (version, frame)
        return frame


_claim_frames, _item_frames = _Cached(), _Cached()


def _newest(conn: Connection, table, stamp) -> tuple:
    """The newest row's id and time: a store's version of what that table records."""
    return tuple(
        conn.execute(select(table.c.id, stamp).order_by(table.c.id.desc()).limit(1)).first() or ()
    )


def _read_claims(conn: Connection) -> pd.DataFrame:
    """One row per claim (replaced claims left out): payer, provider, month, main procedure
    (the code of its highest-charge line) and the first-pass remit's payment."""
    columns = [
        "claim_id",
        "payer_id",
        "rendering_npi",
        "billing_npi",
        "submission_date",
        "total_charge",
    ]
    head = pd.DataFrame(
        conn.execute(
            select(*(claims.c[c] for c in columns)).where(claims.c.superseded_by.is_(None))
        ).all(),
        columns=columns,
    )
    head["provider"] = head["rendering_npi"].fillna(head["billing_npi"])
    head["submission_date"] = pd.to_datetime(head["submission_date"])
    head["month"] = head["submission_date"].dt.strftime("%Y-%m")
    first = pd.DataFrame(
        conn.execute(
            select(
                remits.c.claim_id, remits.c.remit_date, remits.c.remit_id, remits.c.paid_amount
            ).where(remits.c.claim_status_code != "22")
        ).all(),
        columns=["claim_id", "remit_date", "remit_id", "first_paid"],
    )
    first = first.sort_values(["claim_id", "remit_date", "remit_id"]).drop_duplicates("claim_id")
    lines = pd.DataFrame(
        conn.execute(
            select(claim_lines.c.claim_id, claim_lines.c.procedure_code, claim_lines.c.line_charge)
        ).all(),
        columns=["claim_id", "procedure", "charge"],
    )
    main = lines.sort_values(["claim_id", "charge"], ascending=[True, False], kind="stable")
    main = main.drop_duplicates("claim_id")[["claim_id", "procedure"]]
    frame = head.merge(first[["claim_id", "first_paid"]], on="claim_id", how="left")
    frame = frame.merge(main, on="claim_id", how="left")
    return frame.drop(columns=["rendering_npi", "billing_npi"])


def _read_items(conn: Connection) -> pd.DataFrame:
    columns = ["claim_id", "category", "status", "denied_amount", "recovered_amount"]
    return pd.DataFrame(conn.execute(select(*(items.c[c] for c in columns))).all(), columns=columns)


def _frame(conn: Connection, scope: Scope) -> pd.DataFrame:
    """The claims in ``scope``, each with its item (if denied) and the per-claim counts that
    every summary adds up."""
    frame = _claim_frames.get(conn, _newest(conn, loads, loads.c.loaded_at), _read_claims)
    if scope.payer_id:
        frame = frame[frame["payer_id"] == scope.payer_id]
    if scope.since:
        frame = frame[frame["submission_date"] >= pd.Timestamp(scope.since)]
    if scope.until:
        frame = frame[frame["submission_date"] <= pd.Timestamp(scope.until)]
    worked = _item_frames.get(conn, _newest(conn, audit_log, audit_log.c.at), _read_items)
    frame = frame.merge(worked, on="claim_id", how="left")
    adjudicated = frame["first_paid"].notna()
    denied = frame["status"].notna()
    active = frame["status"].isin(list(ACTIVE))
    return frame.assign(
        n_adjudicated=adjudicated,
        n_denied=denied,
        n_denied_adjudicated=denied & adjudicated,
        n_clean=adjudicated & ~denied & (frame["first_paid"] > 0),
        n_won=frame["status"] == "won",
        n_decided=frame["status"].isin(["won", "lost"]),
        d_denied=frame["denied_amount"].fillna(0.0),
        d_recovered=frame["recovered_amount"].fillna(0.0),
        d_at_risk=frame["denied_amount"].where(active, 0.0).fillna(0.0),
    )


COUNTS = ["n_adjudicated", "n_denied", "n_denied_adjudicated", "n_clean", "n_won", "n_decided"]
DOLLARS = ["d_denied", "d_recovered", "d_at_risk"]


def _summaries(frame: pd.DataFrame, keys: list[str]) -> list[dict[str, Any]]:
    """Each group's summary (``keys`` empty: the whole frame's), in key order."""
    sums = frame[[*keys, "claim_id", *COUNTS, *DOLLARS]]
    if keys:
        grouped = sums.groupby(keys, dropna=True, sort=True)
        totals = grouped[COUNTS + DOLLARS].sum()
        totals["claims"] = grouped.size()
        totals = totals.reset_index()
    else:
        totals = pd.DataFrame([{**sums[COUNTS + DOLLARS].sum().to_dict(), "claims": len(sums)}])
    out = []
    for row in totals.to_dict("records"):
        n = int(row["n_adjudicated"])
        out.append(
            {
                **{k: row[k] for k in keys},
                "claims": int(row["claims"]),
                "adjudicated": n,
                "denied": int(row["n_denied"]),
                "denial_rate": _rate(int(row["n_denied_adjudicated"]), n),
                "first_pass_yield": _rate(int(row["n_clean"]), n),
                "overturn_rate": _rate(int(row["n_won"]), int(row["n_decided"])),
                "dollars_denied": round(float(row["d_denied"]), 2),
                "dollars_recovered": round(float(row["d_recovered"]), 2),
                "dollars_at_risk": round(float(row["d_at_risk"]), 2),
            }
        )
    return out


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def _aging(frame: pd.DataFrame, today: dt.date) -> list[dict[str, Any]]:
    unpaid = frame[frame["first_paid"].isna() | frame["status"].isin(list(ACTIVE))]
    age = (pd.Timestamp(today) - unpaid["submission_date"]).dt.days
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


def kpis(conn: Connection, today: dt.date, scope: Scope = Scope()) -> dict[str, Any]:
    frame = _frame(conn, scope)
    out: dict[str, Any] = {"as_of": today.isoformat(), "definitions": DEFINITIONS}
    out["scope"] = {k: None if v is None else str(v) for k, v in asdict(scope).items()}
    out["total"] = _summaries(frame, [])[0]
    for name, column in GROUPS.items():
        out[f"by_{name}"] = [{name: r.pop(column), **r} for r in _summaries(frame, [column])]
    out["by_month_payer"] = [
        {"month": r.pop("month"), "payer": r.pop("payer_id"), **r}
        for r in _summaries(frame, ["month", "payer_id"])
    ]
    out["ar_aging"] = _aging(frame, today)
    for row in out["by_category"]:  # a category exists only for denials: rates have no base
        row.update(claims=None, adjudicated=None, denial_rate=None, first_pass_yield=None)
    return out


__all__ = ["DEFINITIONS", "Scope", "kpis"]
