"""History features, point in time: what was known about payers, codes and providers before a claim.

An outcome is *known* from its remit date. Every history feature of a claim submitted on day t
counts only first-pass outcomes whose remit is dated strictly before t, for training rows and
for a claim scored over HTTP alike.

The machinery is one structure, :class:`EventLog`: for each key (a payer, a payer × procedure,
...) and each day with outcomes, the cumulative counts so far. An as-of lookup is one
``searchsorted``; a window (last 90 days) is the difference of two lookups. The fitted pipeline
keeps a *compacted* log: per key, one row with the totals up to ``cutoff - window`` and the daily
rows after it. For any day at or after the cutoff the compacted log gives exactly what the full
log gives, which is why serving and training cannot disagree (``tests/test_pipeline.py``), and
why refreshing the snapshot with newer remits is just rebuilding the log (``FeaturePipeline.
refresh``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.contract import DENIAL_CATEGORIES
from features.lookup import arrow_text

#: Columns of a log's counts: n, denied, then one per denial category.
COUNT_COLUMNS = ("n", "denied", *DENIAL_CATEGORIES)
_SHIFT = np.int64(1 << 21)  # days since 1970 fit in 21 bits until the year 7711


def narrow(counts: np.ndarray) -> np.ndarray:
    """Integer counts as int32 when every one fits: exact either way, and half the memory of
    int64 (a 1M-claim fit's logs hold ~3M rows of 11 counts)."""
    if counts.dtype.kind not in "iu" or (counts.size and counts.max() >= 2**31):
        return counts
    return counts.astype(np.int32, copy=False)


def daily_totals(
    keys: np.ndarray, days: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Events summed per (key, day), sorted by key then day; rows without a key or a day are
    dropped (a claim never remitted, an entity outside the code book)."""
    ok = np.flatnonzero((keys >= 0) & ~np.isnan(days))
    if not len(ok):
        return keys[:0], days[:0].astype(np.int64), np.zeros((0, counts.shape[1]), counts.dtype)
    composite = keys[ok] * _SHIFT + days[ok].astype(np.int64)
    order = np.argsort(composite, kind="stable")  # one int64 sort: twice as fast as a lexsort
    ordered = composite[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    first = ordered[starts]
    group = np.empty(len(ok), dtype=np.int64)  # each event's (key, day), in the events' order
    group[order] = np.cumsum(starts) - 1
    return first // _SHIFT, first % _SHIFT, _sums(group, len(first), counts[ok])


def _sums(group: np.ndarray, groups: int, counts: np.ndarray) -> np.ndarray:
    """``counts`` summed by ``group``, a column at a time: a bincount reads the events where they
    lie, where gathering the rows into sorted order and a reduceat cost twice as much."""
    integer = counts.dtype.kind in "iu"
    totals = np.empty((groups, counts.shape[1]), dtype=np.int64 if integer else np.float64)
    for j in range(counts.shape[1]):  # exact: float64 holds counts up to 2**53
        totals[:, j] = np.bincount(group, weights=counts[:, j], minlength=groups)
    return narrow(totals) if integer else totals


def _search(sorted_values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """``searchsorted(side="left")``, queries sorted first when there are many: a binary search
    that walks forward hits the cache, and sorting costs less than the misses it saves."""
    if len(queries) < 100_000:
        return np.searchsorted(sorted_values, queries, side="left")
    order = np.argsort(queries)
    out = np.empty(len(queries), dtype=np.int64)
    out[order] = np.searchsorted(sorted_values, queries[order], side="left")
    return out


@dataclass
class EventLog:
    """Cumulative outcome counts per (key, day), sorted, for lookups strictly before a day."""

    keys: np.ndarray  # int64
    days: np.ndarray  # int64
    cum: np.ndarray  # [rows, len(COUNT_COLUMNS)]: int32 (or int64) counts; float64 if given so

    @cached_property
    def composite(self) -> np.ndarray:
        """Keys and days in one sortable int64, built once: every lookup binary-searches it."""
        return self.keys * _SHIFT + self.days

    @classmethod
    def from_events(cls, keys: np.ndarray, days: np.ndarray, counts: np.ndarray) -> EventLog:
        """Aggregate events (one row each, ``counts`` per COUNT_COLUMNS) into daily cumulants."""
        keys, days, daily = daily_totals(keys, days, counts)
        if not len(keys):
            return cls(keys, days, daily)
        cum = np.cumsum(daily, axis=0)
        key_start = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        before_key = np.vstack([np.zeros((1, cum.shape[1]), cum.dtype), cum[key_start[1:] - 1]])
        cum -= np.repeat(before_key, np.diff(np.r_[key_start, len(keys)]), axis=0)
        return cls(keys, days, narrow(cum))

    def as_of(self, keys: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Counts of outcomes for each key with remit day strictly before ``days``."""
        valid = (keys >= 0) & ~np.isnan(days)
        if not len(self.keys) or not valid.any():
            return np.zeros((len(keys), self.cum.shape[1]), self.cum.dtype)
        query = np.where(valid, keys * _SHIFT + np.where(valid, days, 0).astype(np.int64), 0)
        pos = _search(self.composite, query) - 1
        hit = valid & (pos >= 0) & (self.keys[np.maximum(pos, 0)] == keys)
        out = self.cum[np.maximum(pos, 0)]  # one gather, then the misses zeroed
        out[~hit] = 0.0
        return out

    def compact(self, cutoff: int, window: int) -> EventLog:
        """Keep only what lookups on or after ``cutoff`` need (see the module docstring)."""
        boundary = cutoff - window
        recent = self.days >= boundary
        last_of_key = np.r_[self.keys[1:] != self.keys[:-1], True]
        next_recent = np.r_[recent[1:], False]
        # the last row before the boundary, per key: old, and either the key's last row or
        # followed by a recent row of the same key
        same_key_next = np.r_[self.keys[1:] == self.keys[:-1], False]
        carry = ~recent & (last_of_key | (same_key_next & next_recent))
        keep = recent | carry
        return EventLog(self.keys[keep], self.days[keep], self.cum[keep])


@dataclass(frozen=True)
class HistoryKey:
    """What a history is kept per: one or more entity columns, at claim or line level."""

    name: str
    parts: tuple[str, ...]
    per_line: bool = False


KEYS: tuple[HistoryKey, ...] = (
    HistoryKey("payer", ("payer_id",)),
    HistoryKey("payer_proc", ("payer_id", "line_code"), per_line=True),
    HistoryKey("payer_proc_mod", ("payer_id", "line_code", "modset"), per_line=True),
    HistoryKey("provider", ("provider_npi",)),
    HistoryKey("provider_payer", ("provider_npi", "payer_id")),
    HistoryKey("payer_dx_chapter", ("payer_id", "primary_diagnosis_chapter")),
    HistoryKey("proc_dx_chapter", ("line_code", "primary_diagnosis_chapter"), per_line=True),
    HistoryKey("patient", ("patient_id",)),
)
GLOBAL = HistoryKey("global", ())


@dataclass(frozen=True)
class Output:
    """One history feature: a rate or count of ``key``, optionally for one category/window."""

    feature: str
    key: str
    stat: str = "rate"  # or "n"
    category: str | None = None
    window: bool = False
    agg: str | None = None  # for per-line keys: "primary" line or "max" over lines


OUTPUTS: tuple[Output, ...] = (
    Output("hist_payer_rate", "payer"),
    Output("hist_payer_n", "payer", "n"),
    Output("hist_payer_rate_90d", "payer", window=True),
    Output("hist_payer_proc_rate", "payer_proc", agg="primary"),
    Output("hist_payer_proc_n", "payer_proc", "n", agg="primary"),
    Output("hist_payer_proc_rate_max", "payer_proc", agg="max"),
    Output("hist_payer_proc_rate_90d_max", "payer_proc", window=True, agg="max"),
    Output("hist_payer_proc_mod_rate_max", "payer_proc_mod", agg="max"),
    Output("hist_payer_proc_auth_rate_max", "payer_proc", category="authorization", agg="max"),
    Output(
        "hist_payer_proc_auth_rate_90d_max",
        "payer_proc",
        category="authorization",
        window=True,
        agg="max",
    ),
    Output("hist_payer_proc_noncovered_rate_max", "payer_proc", category="non_covered", agg="max"),
    Output(
        "hist_payer_proc_necessity_rate_max", "payer_proc", category="medical_necessity", agg="max"
    ),
    Output("hist_payer_proc_coding_rate_max", "payer_proc", category="coding", agg="max"),
    Output("hist_payer_proc_bundling_rate_max", "payer_proc", category="bundling", agg="max"),
    Output("hist_provider_rate", "provider"),
    Output("hist_provider_n", "provider", "n"),
    Output("hist_provider_rate_90d", "provider", window=True),
    Output("hist_provider_eligibility_rate", "provider", category="eligibility"),
    Output("hist_provider_documentation_rate", "provider", category="documentation"),
    Output("hist_provider_payer_rate", "provider_payer"),
    Output("hist_provider_payer_n", "provider_payer", "n"),
    Output("hist_provider_payer_other_rate", "provider_payer", category="other"),
    Output("hist_payer_dx_chapter_rate", "payer_dx_chapter"),
    Output("hist_proc_dx_chapter_rate_max", "proc_dx_chapter", agg="max"),
    Output(
        "hist_proc_dx_chapter_necessity_rate_max",
        "proc_dx_chapter",
        category="medical_necessity",
        agg="max",
    ),
    Output("hist_patient_rate", "patient"),
    Output("hist_patient_n", "patient", "n"),
    Output("hist_patient_eligibility_rate", "patient", category="eligibility"),
)


def vocabularies(entities: dict[str, np.ndarray]) -> dict[str, dict[str, int]]:
    """One code book per entity column: the values a key code is built from."""
    return {
        name: {v: i for i, v in enumerate(pd.unique(values[pd.notna(values)]).tolist())}
        for name, values in entities.items()
    }


def encode(values: np.ndarray, book: dict[str, int]) -> np.ndarray:
    """Codes of ``values`` in ``book``; -1 for missing or unseen values.

    A dict lookup per value is fastest for the handful of values one request carries; Arrow's
    hash lookup (``index_in``) is fastest for a batch of text keys (a few times pandas' ``map``
    at a million rows); pandas' hash join takes any other kind of key.
    """
    if len(values) <= 2_000:
        return np.array([book.get(v, -1) for v in values.tolist()], dtype=np.int64)
    if not book:
        return np.full(len(values), -1, dtype=np.int64)
    try:
        keys = pa.array(list(book), type=pa.string())
        found = pc.index_in(arrow_text(values), value_set=keys)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pd.Series(values, dtype=object).map(book).fillna(-1).to_numpy(dtype=np.int64)
    at = found.fill_null(-1).to_numpy(zero_copy_only=False)
    codes = np.fromiter(book.values(), dtype=np.int64, count=len(book))
    return np.where(at >= 0, codes[np.maximum(at, 0)], -1)


class KeyCodes:
    """Each history key's integer code for every claim (every line for a line key) in one set of
    code books; -1 where a part is missing or was never seen.

    Codes are made when first asked for and kept: fitting turns them into events and the
    training matrix then looks the same claims up, so each entity column is encoded once, at
    claim level, and only integer codes are spread to the lines.
    """

    def __init__(
        self,
        vocab: dict[str, dict[str, int]],
        claim_entities: dict[str, np.ndarray],
        line_entities: dict[str, np.ndarray],
        line_claim: np.ndarray,
    ) -> None:
        self.vocab = vocab
        self._claim, self._line, self._line_claim = claim_entities, line_entities, line_claim
        self._parts: dict[str, np.ndarray] = {}
        self._keys: dict[str, np.ndarray] = {}

    def __getitem__(self, key: HistoryKey) -> np.ndarray:
        if key.name not in self._keys:
            size = len(self._line_claim) if key.per_line else len(self._claim["payer_id"])
            codes = np.zeros(size, dtype=np.int64)
            for part in key.parts:
                part_code = self._part(part, key.per_line)
                radix = len(self.vocab[part]) + 1
                codes = np.where((codes < 0) | (part_code < 0), -1, codes * radix + part_code)
            self._keys[key.name] = codes
        return self._keys[key.name]

    def _part(self, part: str, per_line: bool) -> np.ndarray:
        """One entity column's codes, at its own level; a claim column asked for per line is
        spread to the lines as integers."""
        at_line = part in self._line
        if part not in self._parts:
            source = self._line if at_line else self._claim
            self._parts[part] = encode(source[part], self.vocab[part])
        codes = self._parts[part]
        return codes[self._line_claim] if per_line and not at_line else codes

    def settled(self) -> dict[str, np.ndarray]:
        """Every history key's codes by key name (what ``Lookups`` holds)."""
        return {key.name: self[key] for key in KEYS}


def outcome_counts(denied: np.ndarray, category: np.ndarray) -> np.ndarray:
    """Event count rows (per COUNT_COLUMNS) for first-pass outcomes."""
    counts = np.zeros((len(denied), len(COUNT_COLUMNS)), dtype=np.int32)
    counts[:, 0] = 1.0
    counts[:, 1] = denied
    for j, cat in enumerate(DENIAL_CATEGORIES):
        counts[:, 2 + j] = denied & (category == cat)
    return counts


def key_events(
    codes: KeyCodes,
    line_claim: np.ndarray,
    remit_day: np.ndarray,
    denied: np.ndarray,
    category: np.ndarray,
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per history key: each first-pass outcome's (key code, remit day, counts), one row per
    claim (per line for line keys); a NaN day is a claim without a remit."""
    n = len(remit_day)
    counts = outcome_counts(denied, category)
    events = {GLOBAL.name: (np.zeros(n, np.int64), remit_day, counts)}
    line_day, line_counts = remit_day[line_claim], counts[line_claim]  # shared by line keys
    for key in KEYS:
        if key.per_line:
            events[key.name] = (codes[key], line_day, line_counts)
        else:
            events[key.name] = (codes[key], remit_day, counts)
    return events


def build_logs(events: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]) -> dict[str, EventLog]:
    """Event logs of every history key from ``key_events``."""
    return {name: EventLog.from_events(*e) for name, e in events.items()}


@dataclass(frozen=True)
class Lookups:
    """What history features read of the claims: each key's codes (``KeyCodes.settled``), each
    line's claim, each claim's primary line and submission day. No text, so that the training
    matrix can let the parsed claims go before it makes them (about 0.6 GiB at 1M claims)."""

    codes: dict[str, np.ndarray]
    line_claim: np.ndarray
    primary: np.ndarray
    day: np.ndarray


def history_features(
    logs: dict[str, EventLog],
    claims: Lookups,
    smoothing: float,
    window: int,
    prior_weight: float,
    prior_rate: float,
) -> dict[str, np.ndarray]:
    """Every history feature (``OUTPUTS``) for claims submitted on ``day``.

    Key by key, so that only one key's counts (a row per line for line keys) are held at a time;
    a window's counts are the all-time counts less those before the window opened.
    """
    line_claim, primary, day = claims.line_claim, claims.primary, claims.day
    n = len(day)
    # The prior is itself point in time: the global rate known before the claim, shrunk to a
    # fixed base rate while little is known.
    glob = logs[GLOBAL.name].as_of(np.zeros(n, np.int64), day)
    base = np.array(
        [1.0, prior_rate, *([prior_rate / len(DENIAL_CATEGORIES)] * len(DENIAL_CATEGORIES))]
    )
    prior = (glob + prior_weight * base) / (glob[:, :1] + prior_weight)
    out: dict[str, np.ndarray] = {}
    for key in KEYS:
        outputs = [o for o in OUTPUTS if o.key == key.name]
        at = day[line_claim] if key.per_line else day
        codes = claims.codes[key.name]
        counts = logs[key.name].as_of(codes, at)
        for o in outputs:
            if not o.window:
                out[o.feature] = _output(o, key, counts, prior, smoothing, line_claim, primary)
        if any(o.window for o in outputs):
            counts -= logs[key.name].as_of(codes, at - window)
            for o in outputs:
                if o.window:
                    out[o.feature] = _output(o, key, counts, prior, smoothing, line_claim, primary)
    return {o.feature: out[o.feature] for o in OUTPUTS}


def _output(
    o: Output,
    key: HistoryKey,
    counts: np.ndarray,
    prior: np.ndarray,
    smoothing: float,
    line_claim: np.ndarray,
    primary: np.ndarray,
) -> np.ndarray:
    """One feature from its key's counts: a count, or a rate shrunk towards the prior; a line
    key's value is taken from the claim's primary line or is the maximum over its lines."""
    n_col = COUNT_COLUMNS.index("n")
    if o.stat == "n":
        value = counts[:, n_col].astype(float)  # a copy: the window's counts are made in place
    else:
        j = COUNT_COLUMNS.index(o.category or "denied")
        p = prior[line_claim, j] if key.per_line else prior[:, j]
        value = (counts[:, j] + smoothing * p) / (counts[:, n_col] + smoothing)
    if not key.per_line:
        return value
    if o.agg == "primary":
        picked = value[np.maximum(primary, 0)] if len(value) else np.nan
        return np.where(primary >= 0, picked, np.nan)
    agg = np.full(len(primary), np.nan)
    if len(value):
        np.fmax.at(agg, line_claim, value)
    return agg
