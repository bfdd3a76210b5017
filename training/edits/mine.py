"""Mining payer edits from history: which payer × procedure × condition a payer denies, for
which reason, how often, since when and for how many dollars.

Every claim decided on first pass (``features.codes.initial_outcomes``) counts once in each
(payer, procedure, condition) it meets (``conditions.claim_conditions``). An edit is such a triple
with one denial reason (``DENIAL_CATEGORIES``): a rule is about a cause, and a cause has a reason
("97110 without GP is denied for *coding*"). An edit is kept when, over the months since it
began, it is

- supported: at least ``min_claims`` claims, and as many in the rest of its parent;
- frequent: at least ``min_rate`` of its claims denied for its reason;
- specific: ``min_lift`` times that reason's rate in the rest of its parent (the same payer and
  procedure without the condition; for a procedure's own edit and the claim conditions, the
  payer's other claims), and ``min_z`` standard errors above it.

*Since when*: a first screen over the whole history (at half the rate, lift and z) keeps the
candidates; for each, ``since`` is the month that splits its history where the rate after is
most above the rate before (``_change_points``), or its first month when no split is
significant. The counts an edit reports are those since then, so a rule that began mid-history
is stated over the months it has held.

Counting is with integer keys and ``np.bincount``: a million claims are mined in seconds
(``bench/edits.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from features.codes import initial_outcomes
from features.contract import DENIAL_CATEGORIES
from training.edits.conditions import ANY_PROCEDURE, Watch, claim_conditions

N_REASONS = len(DENIAL_CATEGORIES)


@dataclass(frozen=True)
class Thresholds:
    min_claims: int = 30
    min_rate: float = 0.1
    min_lift: float = 3.0
    min_z: float = 4.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class _History:
    """The condition rows of the decided claims, as integer codes."""

    key: np.ndarray  # per row: its (payer, procedure, condition)
    claim: np.ndarray  # per row
    parent: np.ndarray  # per key: its parent's key, or -1 - payer for a payer-level parent
    keys: pd.DataFrame  # per key: payer, procedure, condition
    month: np.ndarray  # per claim: months since the first submission month
    reason: np.ndarray  # per claim: index in DENIAL_CATEGORIES, -1 when paid
    dollars: np.ndarray  # per claim: billed dollars when denied, else 0
    first: pd.Period
    payer: np.ndarray  # per claim: payer code


def _history(tables: dict[str, pd.DataFrame]) -> tuple[_History, pd.DataFrame]:
    claims = tables["claims"]
    outcome = initial_outcomes(tables["remits"], tables["remit_adjustments"])
    outcome = outcome.set_index("claim_id").reindex(claims["claim_id"])
    known = outcome["denied"].notna().to_numpy()
    claims, outcome = claims[known].reset_index(drop=True), outcome[known].reset_index()
    lines = tables["claim_lines"]
    lines = lines[lines["claim_id"].isin(claims["claim_id"])]
    rows = claim_conditions(claims, lines, Watch.learn(lines), tables.get("eligibility"))
    payer, payers = pd.factorize(claims["payer_id"])
    proc, procs = pd.factorize(rows["procedure"])
    cond, conds = pd.factorize(rows["condition"])
    claim = rows["claim"].to_numpy()
    key, triples = pd.factorize((payer[claim] * len(procs) + proc) * len(conds) + cond)
    k_payer, k_proc, k_cond = (
        triples // (len(procs) * len(conds)),
        (triples // len(conds)) % len(procs),
        triples % len(conds),
    )
    any_cond = conds.get_loc("any") if "any" in conds else -1
    parent = pd.Index(triples).get_indexer((triples // len(conds)) * len(conds) + any_cond)
    own = (procs[k_proc] == ANY_PROCEDURE) | (k_cond == any_cond) | (parent < 0)
    parent = np.where(own, -1 - k_payer, parent)
    period = claims["submission_date"].dt.to_period("M")
    first = period.min()
    reason = pd.Index(DENIAL_CATEGORIES).get_indexer(outcome["denial_category"])
    reason[~outcome["denied"].to_numpy(dtype=bool)] = -1
    history = _History(
        key=key,
        claim=claim,
        parent=parent,
        keys=pd.DataFrame(
            {"payer": payers[k_payer], "procedure": procs[k_proc], "condition": conds[k_cond]}
        ),
        month=(period - first).map(lambda d: d.n).to_numpy(dtype=np.int64),
        reason=reason,
        dollars=np.where(reason >= 0, claims["total_charge"].to_numpy(dtype=float), 0.0),
        first=first,
        payer=payer,
    )
    return history, outcome


def mine(tables: dict[str, pd.DataFrame], thresholds: Thresholds = Thresholds()) -> pd.DataFrame:
    """The edits history supports, ranked by dollars at stake (see the module docstring)."""
    h, outcome = _history(tables)
    candidates = _screen(h, thresholds)
    edits = _since(h, candidates, thresholds)
    return _described(h, edits, outcome)


def _counts(h: _History, claim: np.ndarray, slot: np.ndarray, slots: int, months: int):
    """Claims (each counted in its ``slot``) per slot and month from month m on: their number
    (slots, months), denials by reason (slots, months, reasons) and denied dollars by reason.
    With ``months`` 1, the whole history as one month."""
    cell = slot * months + (h.month[claim] if months > 1 else 0)
    n = np.bincount(cell, minlength=slots * months).reshape(slots, months)
    r = h.reason[claim]
    hit = r >= 0
    cell_r = cell[hit] * N_REASONS + r[hit]
    size = slots * months * N_REASONS
    d = np.bincount(cell_r, minlength=size).reshape(slots, months, N_REASONS)
    dollars = np.bincount(cell_r, weights=h.dollars[claim][hit], minlength=size)

    def suffix(a: np.ndarray) -> np.ndarray:
        return np.cumsum(a[:, ::-1], axis=1)[:, ::-1]

    return suffix(n), suffix(d), suffix(dollars.reshape(slots, months, N_REASONS))


def _payer_counts(h: _History, months: int):
    """The same per payer, over every decided claim (the parent of claim-level edits)."""
    return _counts(h, np.arange(len(h.payer)), h.payer, int(h.payer.max()) + 1, months)


def _from_parent(parent: np.ndarray, own: np.ndarray, payer: np.ndarray) -> np.ndarray:
    """Each edit's parent's counts: ``own[parent]`` for a (payer, procedure) parent, the payer's
    ``payer[-1 - parent]`` for a payer-level one (``_History.parent``); first axis indexed."""
    mask = (parent >= 0).reshape(-1, *([1] * (own.ndim - 1)))
    return np.where(mask, own[np.maximum(parent, 0)], payer[-1 - np.minimum(parent, -1)])


def _stats(n, d, parent_n, parent_d, t: Thresholds) -> dict[str, np.ndarray]:
    """Rate, the rest's rate, lift and z of (edit, reason) counts; n (edits,), d (edits, R)."""
    rest_n = parent_n - n
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = d / n[:, None]
        rest = (parent_d - d) / rest_n[:, None]
        floor = np.maximum(rest, 1.0 / np.maximum(rest_n, 1)[:, None])  # 0 of 40 is not 0 risk
        lift = rate / floor
        z = (rate - rest) / np.sqrt(floor * (1 - floor) / n[:, None])
    ok = (
        (n >= t.min_claims)[:, None]
        & (rest_n >= t.min_claims)[:, None]
        & (rate >= t.min_rate)
        & (lift >= t.min_lift)
        & (z >= t.min_z)
    )
    return {"rate": rate, "rest": rest, "lift": lift, "z": z, "ok": ok}


def _screen(h: _History, t: Thresholds) -> np.ndarray:
    """Keys with a reason that passes over the whole history at half the rate, lift and z: a
    rule that began late is diluted by the months before it."""
    n, d, _ = (a[:, 0] for a in _counts(h, h.claim, h.key, len(h.keys), 1))
    payer_n, payer_d, _ = (a[:, 0] for a in _payer_counts(h, 1))
    parent = h.parent
    p_n, p_d = _from_parent(parent, n, payer_n), _from_parent(parent, d, payer_d)
    loose = Thresholds(t.min_claims, t.min_rate / 2, t.min_lift / 2, t.min_z / 2)
    return np.flatnonzero(_stats(n, d, p_n, p_d, loose)["ok"].any(axis=1))


def _since(h: _History, candidates: np.ndarray, t: Thresholds) -> pd.DataFrame:
    """Per candidate and reason: the month the rule began, and whether it holds since then."""
    months = int(h.month.max()) + 1
    parents = np.unique(h.parent[candidates][h.parent[candidates] >= 0])
    wanted = np.concatenate([candidates, parents])
    slot = np.full(len(h.keys), -1)
    slot[wanted] = np.arange(len(wanted))
    rows = np.flatnonzero(slot[h.key] >= 0)
    n, d, dollars = _counts(h, h.claim[rows], slot[h.key[rows]], len(wanted), months)
    payer_n, payer_d, _ = _payer_counts(h, months)
    c = slot[candidates]
    n_c, d_c, dollars_c = n[c], d[c], dollars[c]  # (candidates, months[, reasons])
    parent = h.parent[candidates]
    parent = np.where(parent >= 0, slot[np.maximum(parent, 0)], parent)  # keys → slots
    p_n, p_d = _from_parent(parent, n, payer_n), _from_parent(parent, d, payer_d)
    since = _change_points(n_c, d_c, t)
    i = np.arange(len(c))
    out = []
    for r in range(N_REASONS):
        m = since[:, r]
        s = _stats(n_c[i, m], d_c[i, m][:, [r]], p_n[i, m], p_d[i, m][:, [r]], t)
        keep = s["ok"][:, 0]
        out.append(
            pd.DataFrame(
                {
                    "key": candidates[keep],
                    "reason": r,
                    "since_month": m[keep],
                    "claims": n_c[i, m][keep],
                    "denied": d_c[i, m, r][keep],
                    "denial_rate": s["rate"][keep, 0],
                    "rate_otherwise": s["rest"][keep, 0],
                    "lift": s["lift"][keep, 0],
                    "dollars_at_stake": dollars_c[i, m, r][keep],
                }
            )
        )
    return pd.concat(out, ignore_index=True)


def _change_points(n: np.ndarray, d: np.ndarray, t: Thresholds) -> np.ndarray:
    """Per edit and reason, the month its rate rose: the split of its history (suffix counts
    ``n`` (edits, months), ``d`` (edits, months, reasons)) where the rate after is most above the
    rate before, by a two-proportion z; month 0 when no split reaches ``min_z`` (a steady rule)."""
    after_n, after_d = n[:, :, None], d
    before_n, before_d = n[:, :1, None] - after_n, d[:, :1, :] - after_d
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = d[:, :1, :] / n[:, :1, None]
        spread = np.sqrt(pooled * (1 - pooled) * (1 / after_n + 1 / before_n))
        z = (after_d / after_n - before_d / before_n) / spread
    side = max(10, t.min_claims // 3)  # the z weighs the noise; a side only needs some claims
    z = np.where((after_n >= side) & (before_n >= side) & np.isfinite(z), z, -np.inf)
    return np.where(z.max(axis=1) >= t.min_z, z.argmax(axis=1), 0)


def _described(h: _History, edits: pd.DataFrame, outcome: pd.DataFrame) -> pd.DataFrame:
    """Edits with their payer, procedure, condition, reason, the CARCs seen, ranked."""
    carcs = _carcs(h, edits, outcome)
    out = pd.concat([h.keys.iloc[edits["key"]].reset_index(drop=True), edits], axis=1)
    out["category"] = np.asarray(DENIAL_CATEGORIES, dtype=object)[out["reason"]]
    out["since"] = [str(h.first + int(m)) for m in out["since_month"]]
    out["carcs"] = carcs
    out = out.drop(columns=["key", "reason", "since_month"])
    return out.sort_values("dollars_at_stake", ascending=False, kind="stable").reset_index(
        drop=True
    )


def _carcs(h: _History, edits: pd.DataFrame, outcome: pd.DataFrame) -> list[list[str]]:
    """The three commonest main CARCs of each edit's denials for its reason since it began."""
    lookup = {(k, r): i for i, (k, r) in enumerate(zip(edits["key"], edits["reason"], strict=True))}
    rows = np.flatnonzero(np.isin(h.key, edits["key"].unique()))
    claim = h.claim[rows]
    frame = pd.DataFrame(
        {"key": h.key[rows], "reason": h.reason[claim], "month": h.month[claim],
         "carc": outcome["denial_carc"].to_numpy()[claim]}
    )  # fmt: skip
    frame["edit"] = [lookup.get(kr, -1) for kr in zip(frame["key"], frame["reason"], strict=True)]
    frame = frame[frame["edit"] >= 0]
    frame = frame[frame["month"] >= edits["since_month"].to_numpy()[frame["edit"]]]
    seen = frame.groupby("edit")["carc"].agg(lambda s: [str(c) for c in s.value_counts().index[:3]])
    return [seen.get(i, []) for i in range(len(edits))]
