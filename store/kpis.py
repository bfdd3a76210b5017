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
(SQL picks each claim's first-pass remit and main procedure; the frame is cached by the newest
load, and the service warms it after each load: ``warm``) and the items once per change (by the
newest audit row). Every figure is then a ``numpy.bincount`` over integer group codes of one row
per claim or per item: a million-claim store answers in tens of milliseconds.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, func, select

from store import db
from store.schema import audit_log, claim_lines, claims, loads, remits
from store.schema import worklist_items as items
from store.worklist import ACTIVE

DEFINITIONS = __doc__.split("Definitions")[1].split("Speed:")[0].strip()
AGING = ((0, 30), (31, 60), (61, 90), (91, 120), (121, None))
#: Each grouping's name in the answer and the column it groups by.
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
    """The last value read for a store, kept while the store's version of it is unchanged.
    One read at a time: a request that arrives while the service warms the cache waits for
    that read rather than starting its own."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[Any, Any]] = {}
        self._reading = threading.Lock()

    def get(self, conn: Connection, version: Any, read) -> Any:
        key = conn.engine.url.render_as_string(hide_password=False)
        hit = self._held.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
        with self._reading:
            hit = self._held.get(key)
            if hit is None or hit[0] != version:
                hit = self._held[key] = (version, read(conn))
        return hit[1]


_claim_frames, _item_frames = _Cached(), _Cached()


def _newest(conn: Connection, table, stamp) -> tuple:
    """The newest row's id and time: a store's version of what that table records."""
    return tuple(
        conn.execute(select(table.c.id, stamp).order_by(table.c.id.desc()).limit(1)).first() or ()
    )


def _first_of_each(table, order, *columns):
    """The first row of each claim in ``order`` (a subquery with ``claim_id`` and ``columns``)."""
    rank = func.row_number().over(partition_by=table.c.claim_id, order_by=order).label("k")
    ranked = select(table.c.claim_id, *columns, rank)
    if table is remits:  # a reversal is not a first-pass answer
        ranked = ranked.where(remits.c.claim_status_code != "22")
    return ranked.subquery()


def _read_claims(conn: Connection) -> pd.DataFrame:
    """One row per claim (replaced claims left out): payer, provider, month, main procedure
    (the code of its highest-charge line, the first such line on ties) and the first-pass
    remit's payment (earliest by remit date, then remit id). Group columns are categorical:
    their codes are what the figures are counted over."""
    first = _first_of_each(remits, (remits.c.remit_date, remits.c.remit_id), remits.c.paid_amount)
    main = _first_of_each(
        claim_lines,
        (claim_lines.c.line_charge.desc(), claim_lines.c.line_number),
        claim_lines.c.procedure_code,
    )
    query = (
        select(
            claims.c.claim_id,
            claims.c.payer_id,
            func.coalesce(claims.c.rendering_npi, claims.c.billing_npi),
            claims.c.submission_date,
            claims.c.total_charge,
            first.c.paid_amount,
            main.c.procedure_code,
        )
        .outerjoin(first, (first.c.claim_id == claims.c.claim_id) & (first.c.k == 1))
        .outerjoin(main, (main.c.claim_id == claims.c.claim_id) & (main.c.k == 1))
        .where(claims.c.superseded_by.is_(None))
    )
    columns = ["claim_id", "payer_id", "provider", "day", "total_charge", "first_paid", "procedure"]
    frame = db.frame(conn, query, columns)
    frame["day"] = pd.to_datetime(frame["day"]).astype("datetime64[s]")
    frame["month"] = frame["day"].dt.strftime("%Y-%m")
    for column in ("payer_id", "provider", "procedure", "month"):
        frame[column] = frame[column].astype("category")
    frame["total_charge"] = frame["total_charge"].astype(float)
    frame["first_paid"] = frame["first_paid"].astype(float)
    return frame.set_index("claim_id")


def _read_items(conn: Connection, claim_ids: pd.Index) -> pd.DataFrame:
    """Every item of a claim in ``claim_ids``, with its claim's position there."""
    columns = ["claim_id", "category", "status", "denied_amount", "recovered_amount"]
    frame = db.frame(conn, select(*(items.c[c] for c in columns)), columns)
    frame["at"] = claim_ids.get_indexer(frame["claim_id"])
    frame = frame[frame["at"] >= 0].reset_index(drop=True)
    frame["category"] = frame["category"].astype("category")
    for column in ("denied_amount", "recovered_amount"):
        frame[column] = frame[column].astype(float).fillna(0.0)
    return frame


def warm(conn: Connection) -> None:
    """Read the claims and items (if they changed since) so that the next dashboard need not:
    the service calls this after start-up and after each load it notices."""
    _rows(conn, Scope())


@dataclass(frozen=True)
class _Rows:
    """What every figure is summed from: per-claim counts and per-item sums (arrays), with the
    claims and items in scope and the claims whose denial is still being worked."""

    claims: pd.DataFrame
    items: pd.DataFrame
    in_scope: np.ndarray
    item_in_scope: np.ndarray
    being_worked: np.ndarray
    claim_counts: dict[str, np.ndarray]
    item_sums: dict[str, np.ndarray]


def _rows(conn: Connection, scope: Scope) -> _Rows:
    loaded = _newest(conn, loads, loads.c.loaded_at)
    frame = _claim_frames.get(conn, loaded, _read_claims)
    version = (loaded, _newest(conn, audit_log, audit_log.c.at))
    worked = _item_frames.get(conn, version, lambda c: _read_items(c, frame.index))
    in_scope = np.ones(len(frame), dtype=bool)
    if scope.payer_id:
        in_scope &= (frame["payer_id"] == scope.payer_id).to_numpy()
    if scope.since:
        in_scope &= (frame["day"] >= pd.Timestamp(scope.since)).to_numpy()
    if scope.until:
        in_scope &= (frame["day"] <= pd.Timestamp(scope.until)).to_numpy()
    at = worked["at"].to_numpy()
    denied = np.zeros(len(frame), dtype=bool)
    denied[at] = True
    paid = frame["first_paid"].to_numpy()
    adjudicated = ~np.isnan(paid)
    status = worked["status"].to_numpy()
    active = np.isin(status, list(ACTIVE))
    being_worked = np.zeros(len(frame), dtype=bool)
    being_worked[at[active]] = True
    claim_counts = {
        "claims": np.ones(len(frame)),
        "n_adjudicated": adjudicated,
        "n_denied": denied,
        "n_denied_adjudicated": denied & adjudicated,
        "n_clean": adjudicated & ~denied & (np.nan_to_num(paid) > 0),
    }
    item_sums = {
        "n_items": np.ones(len(worked)),
        "n_won": status == "won",
        "n_decided": np.isin(status, ["won", "lost"]),
        "d_denied": worked["denied_amount"].to_numpy(),
        "d_recovered": worked["recovered_amount"].to_numpy(),
        "d_at_risk": np.where(active, worked["denied_amount"].to_numpy(), 0.0),
    }
    return _Rows(frame, worked, in_scope, in_scope[at], being_worked, claim_counts, item_sums)


def _sums(codes: np.ndarray, n: int, keep: np.ndarray, measures: dict) -> dict[str, np.ndarray]:
    """Each measure summed per code (0..n-1) over the rows ``keep`` (code -1: no group)."""
    keep = keep & (codes >= 0)
    picked = codes[keep]
    return {k: np.bincount(picked, weights=v[keep], minlength=n) for k, v in measures.items()}


def _grouped(rows: _Rows, codes: np.ndarray, item_codes: np.ndarray, n: int) -> dict:
    """The claim counts (over claims) and item sums (over items) of each of ``n`` groups."""
    return {
        **_sums(codes, n, rows.in_scope, rows.claim_counts),
        **_sums(item_codes, n, rows.item_in_scope, rows.item_sums),
    }


def _summary(s: dict, i: int) -> dict[str, Any]:
    """Group ``i``'s figures from its sums."""
    n = int(s["n_adjudicated"][i])
    return {
        "claims": int(s["claims"][i]),
        "adjudicated": n,
        "denied": int(s["n_denied"][i]),
        "denial_rate": _rate(int(s["n_denied_adjudicated"][i]), n),
        "first_pass_yield": _rate(int(s["n_clean"][i]), n),
        "overturn_rate": _rate(int(s["n_won"][i]), int(s["n_decided"][i])),
        "dollars_denied": round(float(s["d_denied"][i]), 2),
        "dollars_recovered": round(float(s["d_recovered"][i]), 2),
        "dollars_at_risk": round(float(s["d_at_risk"][i]), 2),
    }


def _by(rows: _Rows, columns: tuple[str, ...]) -> list[tuple[tuple, dict[str, Any]]]:
    """(key, summary) of each group of ``columns`` (one, or a pair) that has claims in scope,
    in key order."""
    if columns == ("category",):  # an item's column: its claim counts are its items
        cat = rows.items["category"].cat
        keys, n = [(k,) for k in cat.categories], len(cat.categories)
        s = _sums(cat.codes.to_numpy(), n, rows.item_in_scope, rows.item_sums)
        s["claims"], s["n_denied"] = s["n_items"], s["n_items"]
        for name in ("n_adjudicated", "n_denied_adjudicated", "n_clean"):
            s[name] = np.zeros(n)
        return [(keys[i], _summary(s, i)) for i in range(n) if s["claims"][i] > 0]
    parts = [rows.claims[c].cat for c in columns]
    codes = parts[0].codes.to_numpy().astype(np.int64)
    keys = [(k,) for k in parts[0].categories]
    for part in parts[1:]:  # a pair of columns: one code per (first, second), in that order
        inner = part.codes.to_numpy()
        codes = np.where((codes >= 0) & (inner >= 0), codes * len(part.categories) + inner, -1)
        keys = [(*k, j) for k in keys for j in part.categories]
    s = _grouped(rows, codes, codes[rows.items["at"].to_numpy()], len(keys))
    return [(keys[i], _summary(s, i)) for i in range(len(keys)) if s["claims"][i] > 0]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def _aging(rows: _Rows, today: dt.date) -> list[dict[str, Any]]:
    """Claims not yet paid (no remit yet, or a denial still being worked) by days since
    submission."""
    unpaid = rows.in_scope & (np.isnan(rows.claims["first_paid"].to_numpy()) | rows.being_worked)
    age = (pd.Timestamp(today) - rows.claims["day"]).dt.days.to_numpy()
    charge = rows.claims["total_charge"].to_numpy()
    out = []
    for low, high in AGING:
        inside = unpaid & (age >= low) & (age <= high if high is not None else True)
        out.append(
            {
                "bucket": f"{low}-{high}" if high is not None else f"over {low - 1}",
                "claims": int(inside.sum()),
                "dollars": round(float(charge[inside].sum()), 2),
            }
        )
    return out


def kpis(conn: Connection, today: dt.date, scope: Scope = Scope()) -> dict[str, Any]:
    rows = _rows(conn, scope)
    out: dict[str, Any] = {"as_of": today.isoformat(), "definitions": DEFINITIONS}
    out["scope"] = {k: None if v is None else str(v) for k, v in asdict(scope).items()}
    one = np.zeros(len(rows.claims), np.int64)  # every claim in the one group
    out["total"] = _summary(_grouped(rows, one, one[rows.items["at"].to_numpy()], 1), 0)
    for name, column in GROUPS.items():
        out[f"by_{name}"] = [{name: key[0], **r} for key, r in _by(rows, (column,))]
    out["by_month_payer"] = [
        {"month": key[0], "payer": key[1], **r} for key, r in _by(rows, ("month", "payer_id"))
    ]
    out["ar_aging"] = _aging(rows, today)
    for row in out["by_category"]:  # a category exists only for denials: rates have no base
        row.update(claims=None, adjudicated=None, denial_rate=None, first_pass_yield=None)
    return out


__all__ = ["DEFINITIONS", "Scope", "kpis", "warm"]
