"""Point-in-time features month by month: the training matrix of data too big for one frame.

A partitioned dataset (``features.partitions``) is built one submission month at a time. A claim's
history counts the outcomes remitted strictly before its submission, so a month's claims need, per
history key, (1) the totals of every outcome remitted before the month's first day less the
90-day window, carried forward from month to month, and (2) the daily outcomes since then. From
those two an :class:`~features.history.EventLog` answers every lookup of the month exactly as the
log of the whole data does (the argument of ``EventLog.compact``), and the latest eligibility
response per patient and payer is carried forward the same way. So the matrix is the one
``build_training_matrix`` builds, claim by claim (``tests/test_monthly.py``).

Each step here is a pure function of one month's tables and of small carried state; the plan of
which outcomes each month needs is :class:`Schedule`. :func:`build_by_month` runs the steps
through a :class:`Runner`: at once (``EAGER``, a loop) or as Dask tasks
(``features.distributed.DaskRunner``), and the tests hold both to the single-frame path.

Passes over the months: (1) carry eligibility forward; (2) what fitting learns (levels, typical
charges, code books, label facts); (3) each month's outcomes as daily events per history key;
(4) carry the totals forward and build each month's rows.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from features.history import EventLog, daily_totals
from features.labels import LabelFacts
from features.pipeline import (
    FeaturePipeline,
    FitStats,
    cutoff_day_of,
    first_pass,
    known_entities,
    training_rows,
)

Tables = dict[str, pd.DataFrame]
#: History key → daily outcome totals (key codes, days, counts per ``COUNT_COLUMNS``).
Events = dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
_NO_DAY = -(1 << 40)


def month_start(month: str) -> int:
    """Days since 1970 of a ``YYYY-MM`` month's first day."""
    return int(np.datetime64(month, "D").astype(np.int64))


def month_end(month: str) -> int:
    """Days since 1970 of the first day after the month."""
    return int((np.datetime64(month, "M") + 1).astype("datetime64[D]").astype(np.int64))


# -- pass 1: eligibility --------------------------------------------------------------------------


def latest_responses(responses: pd.DataFrame) -> pd.DataFrame:
    """Per patient and payer, the response a later claim would read: the newest checked, ties to
    the row that comes last (as ``features.eligibility.latest_before`` breaks them)."""
    if responses is None or not len(responses):
        return responses
    order = responses.reset_index(drop=True)
    order = order.assign(_row=np.arange(len(order))).sort_values(["checked_date", "_row"])
    last = order.drop_duplicates(["patient_id", "payer_id"], keep="last")
    return last.sort_values("_row").drop(columns="_row").reset_index(drop=True)


def carry_responses(carried: pd.DataFrame | None, tables: Tables) -> pd.DataFrame | None:
    """The responses known before the next month: the carried ones and this month's, latest
    per patient and payer."""
    return latest_responses(with_responses(tables, carried).get("eligibility"))


def with_responses(tables: Tables, carried: pd.DataFrame | None) -> Tables:
    """The month's tables with the responses checked before it (carried) ahead of its own."""
    own = tables.get("eligibility")
    parts = [f for f in (carried, own) if f is not None and len(f)]
    if not parts:
        return tables
    return {**tables, "eligibility": pd.concat(parts, ignore_index=True)}


# -- pass 2: what fitting learns ------------------------------------------------------------------


@dataclass
class MonthSummary:
    """What one month adds to the fit: statistics, code-book entries and label facts."""

    stats: FitStats
    entities: dict[str, list]  # entity column → values of claims with a known outcome
    labels: tuple[int, pd.Timestamp]  # LabelFacts.part
    last_remit: float  # the month's last first-pass remit day (NaN: none)


def summarize(pipeline: FeaturePipeline, tables: Tables, cutoff: Any) -> MonthSummary:
    """A month's share of the fit (``pipeline`` is an unfitted template; it is not changed)."""
    work = copy.deepcopy(pipeline)
    parsed = work._prepare(tables)
    stats = work._stats(parsed)
    remit_day, _, _ = first_pass(tables, parsed.claims["claim_id"])
    last = float(np.nanmax(remit_day)) if np.isfinite(remit_day).any() else np.nan
    if cutoff is not None:
        remit_day[remit_day >= cutoff_day_of(remit_day, cutoff)] = np.nan
    known = known_entities(parsed, remit_day)
    entities = {k: pd.unique(v[pd.notna(v)]).tolist() for k, v in known.items()}
    return MonthSummary(stats, entities, LabelFacts.part(tables), last)


@dataclass(frozen=True)
class Fit:
    """The pipeline fitted from every month's summary (its history not yet built) and the facts
    every month is built with."""

    pipeline: FeaturePipeline
    cutoff_day: int
    labels: LabelFacts


def fit_from(
    pipeline: FeaturePipeline, payers: pd.DataFrame, summaries: list[MonthSummary], cutoff: Any
) -> Fit:
    """Merge the months' summaries into one pipeline: levels, typical charges, code books."""
    fitted = copy.deepcopy(pipeline)
    fitted.learn(payers, [s.stats for s in summaries])
    fitted.vocab_ = {}
    for name in summaries[0].entities if summaries else ():
        ordered = dict.fromkeys(v for s in summaries for v in s.entities[name])
        fitted.vocab_[name] = {v: i for i, v in enumerate(ordered)}
    cutoff_day = cutoff_day_of(np.array([s.last_remit for s in summaries], dtype=float), cutoff)
    fitted.cutoff_ = pd.Timestamp(cutoff_day, unit="D")
    labels = LabelFacts.combine([s.labels for s in summaries])
    return Fit(fitted, cutoff_day, labels)


# -- pass 3: outcomes as events -------------------------------------------------------------------


def month_events(fit: Fit, tables: Tables) -> Events:
    """The month's claims' first-pass outcomes known by the cutoff, summed per key and day."""
    parsed = fit.pipeline._parse_tables(tables)
    remit_day, denied, category = first_pass(tables, parsed.claims["claim_id"])
    remit_day[remit_day >= fit.cutoff_day] = np.nan
    events = fit.pipeline._key_events(parsed, remit_day, denied, category)
    return {name: daily_totals(*e) for name, e in events.items()}


def between(events: Events, lo: int, hi: int) -> Events:
    """The events dated in [lo, hi)."""
    out = {}
    for name, (keys, days, counts) in events.items():
        rows = (days >= lo) & (days < hi)
        out[name] = (keys[rows], days[rows], counts[rows])
    return out


def gather(parts: Iterable[Events]) -> Events:
    """Several months' events as one set, summed per key and day."""
    parts = list(parts)
    names = {n for p in parts for n in p}
    return {
        n: daily_totals(*(np.concatenate([p[n][i] for p in parts if n in p]) for i in range(3)))
        for n in names
    }


def advance(state: Events, events: Events, day: int) -> Events:
    """The carried totals plus ``events``, as one row per key dated ``day - 1``."""
    out = {}
    for name, (keys, _, counts) in gather([state, events]).items():
        collapsed = daily_totals(keys, np.full(len(keys), day - 1, dtype=np.int64), counts)
        out[name] = collapsed
    return out


def month_logs(state: Events, recent: Events) -> dict[str, EventLog]:
    """The logs a month's lookups read: the carried totals and the daily events since."""
    both = gather([state, recent])
    return {name: EventLog.from_events(*e) for name, e in both.items()}


@dataclass(frozen=True)
class Schedule:
    """Which outcomes each month needs, as day ranges, and the months of remits (buckets).

    Month m's lookups fall on days in [start_m - window, end_m): the carried state holds every
    outcome before ``boundary[m] = start_m - window`` and the month reads the daily events in
    [boundary[m], end_m) (never past the cutoff). Buckets hold the events by the month of their
    remit; the first bucket also holds anything earlier."""

    months: tuple[str, ...]
    window: int
    cutoff_day: int

    @property
    def edges(self) -> list[int]:
        """Bucket edges: each month start from the first month's to the cutoff's month, then the
        cutoff; the first bucket starts at the beginning of time."""
        first = np.datetime64(self.months[0], "M")
        last = (np.datetime64(self.cutoff_day - 1, "D")).astype("datetime64[M]")
        starts = np.arange(first, max(first, last) + 1).astype("datetime64[D]").astype(np.int64)
        return [_NO_DAY, *[int(d) for d in starts[1:]], self.cutoff_day]

    def boundary(self, i: int) -> int:
        return month_start(self.months[i]) - self.window

    def recent(self, i: int) -> tuple[int, int]:
        return self.boundary(i), min(month_end(self.months[i]), self.cutoff_day)

    def carried(self, i: int) -> tuple[int, int]:
        """The range month i's state adds to month i - 1's."""
        return (_NO_DAY if i == 0 else self.boundary(i - 1)), self.boundary(i)

    def buckets_for(self, lo: int, hi: int) -> list[int]:
        """The buckets that hold events dated in [lo, hi)."""
        edges = self.edges
        return [j for j in range(len(edges) - 1) if edges[j] < hi and edges[j + 1] > lo]

    def pick(self, buckets: list, lo: int, hi: int) -> list:
        """The buckets (of a list indexed like ``edges``) that hold events dated in [lo, hi)."""
        return [buckets[j] for j in self.buckets_for(lo, hi)]

    def snapshot(self) -> tuple[int, int]:
        """The range the serving snapshot reads beyond the state carried to ``cutoff - window``."""
        return self.cutoff_day - self.window, self.cutoff_day

    def final_carry(self) -> tuple[int, int]:
        """The range the snapshot's state adds to the last month's (from the beginning of time
        when the cutoff falls before the last month's boundary)."""
        lo, since = self.snapshot()[0], self.boundary(len(self.months) - 1)
        return (_NO_DAY if lo < since else since), lo

    def last_readers(self) -> list[int]:
        """Per bucket, the last month (by index) that reads it; ``len(months)``: the snapshot.
        Past its last reader a bucket can be let go."""
        n = len(self.months)
        reads = [(i, r) for i in range(n) for r in (self.carried(i), self.recent(i))]
        reads += [(n, self.final_carry()), (n, self.snapshot())]
        last = [-1] * (len(self.edges) - 1)
        for i, (lo, hi) in reads:
            for j in self.buckets_for(lo, hi):
                last[j] = i
        return last


def in_range(buckets: list[Events], lo: int, hi: int) -> Events:
    """The events dated in [lo, hi) of the buckets that hold them (``Schedule.pick``)."""
    return gather(between(b, lo, hi) for b in buckets)


# -- pass 4: the rows -----------------------------------------------------------------------------


def month_matrix(fit: Fit, tables: Tables, logs: dict[str, EventLog]) -> pd.DataFrame:
    """The month's training rows: the same columns ``build_training_matrix`` writes."""
    pipeline = fit.pipeline
    computed = pipeline._compute(pipeline._parse_tables(tables), logs)
    return training_rows(tables, pipeline._frame(computed), fit.labels)


def with_snapshot(fit: Fit, state: Events, recent: Events) -> FeaturePipeline:
    """The fitted pipeline with its serving snapshot: history as of the cutoff."""
    pipeline = copy.copy(fit.pipeline)
    logs = month_logs(state, recent)
    window = pipeline.window_days
    pipeline.history_ = {n: log.compact(fit.cutoff_day, window) for n, log in logs.items()}
    return pipeline


# -- the plan -------------------------------------------------------------------------------------


class Runner(Protocol):
    """Runs the plan's steps: at once (``EAGER``), or as Dask tasks (``features.distributed``).

    ``submit(fn, *args)`` returns a handle to ``fn(*args)``, whose arguments may be handles (and
    lists of them); ``result(handle)`` is its value."""

    def submit(self, fn: Callable, *args: Any) -> Any: ...

    def result(self, handle: Any) -> Any: ...


class _Eager:
    def submit(self, fn: Callable, *args: Any) -> Any:
        return fn(*args)

    def result(self, handle: Any) -> Any:
        return handle


EAGER: Runner = _Eager()


class Months(Protocol):
    """A dataset by submission month (``features.partitions.FolderMonths`` / ``FrameMonths``)."""

    def months(self) -> list[str]: ...

    def check(self, month: str) -> None: ...

    def payers(self) -> pd.DataFrame: ...

    def __call__(self, month: str) -> Tables: ...

    def responses(self, month: str) -> Tables: ...

    def claim_count(self, month: str) -> int: ...


def _carry(data: Months, month: str, carried: pd.DataFrame | None) -> pd.DataFrame | None:
    return carry_responses(carried, data.responses(month))


def _summarize(
    template: FeaturePipeline, data: Months, month: str, carried: Any, cutoff: Any
) -> MonthSummary:
    return summarize(template, with_responses(data(month), carried), cutoff)


def _events(fit: Fit, data: Months, month: str, carried: Any) -> Events:
    return month_events(fit, with_responses(data(month), carried))


def _rows(
    fit: Fit, data: Months, month: str, carried: Any, state: Events, recent: Events, write: Any
) -> pd.DataFrame | int:
    rows = month_matrix(fit, with_responses(data(month), carried), month_logs(state, recent))
    if write is None:
        return rows
    write(month, rows)
    return len(rows)


def responses_before(data: Months, runner: Runner = EAGER) -> dict[str, Any]:
    """Every month with claims → (a handle to) the eligibility responses known before it, once
    every month has passed validation. A month of eligibility checks alone has no claims to
    build or score, but its responses are carried into the next."""
    for check in [runner.submit(data.check, m) for m in data.months()]:
        runner.result(check)
    carried, before = None, {}
    for month in data.months():
        if data.claim_count(month):
            before[month] = carried
        carried = runner.submit(_carry, data, month, carried)
    return before


def _fitted(
    runner: Runner, template: FeaturePipeline, data: Months, before: dict[str, Any], cutoff: Any
) -> Any:
    """(A handle to) the ``Fit`` of every month's statistics; the statistics go once it is made."""
    summaries = [runner.submit(_summarize, template, data, m, r, cutoff) for m, r in before.items()]
    return runner.submit(fit_from, template, data.payers(), summaries, cutoff)


def _buckets(
    runner: Runner, fit: Any, data: Months, before: dict[str, Any], schedule: Schedule
) -> list[Any]:
    """(Handles to) the outcome events by month of remit (``Schedule.edges``); each month's own
    events go once the buckets are built."""
    events = [runner.submit(_events, fit, data, m, r) for m, r in before.items()]
    return [
        runner.submit(gather, [runner.submit(between, e, lo, hi) for e in events])
        for lo, hi in pairwise(schedule.edges)
    ]


def build_by_month(
    data: Months,
    cutoff: Any = None,
    pipeline: FeaturePipeline | None = None,
    write: Callable[[str, pd.DataFrame], None] | None = None,
    runner: Runner = EAGER,
) -> tuple[FeaturePipeline, list]:
    """Every month's training rows and the fitted pipeline, one month in memory at a time.

    A handle is let go as soon as nothing later reads it (a month's carried eligibility once its
    rows are built, a bucket of events after its last reader), so a cluster holds what the months
    in flight need, not every month's. ``write(month, rows)``, if given, takes each month's rows
    where it runs (on a worker) and the list holds row counts instead of the rows."""
    template = pipeline or FeaturePipeline()
    before = responses_before(data, runner)
    months = list(before)
    fit = _fitted(runner, template, data, before, cutoff)
    cutoff_day = runner.result(runner.submit(getattr, fit, "cutoff_day"))
    schedule = Schedule(tuple(months), template.window_days, cutoff_day)
    buckets = _buckets(runner, fit, data, before, schedule)

    def events_in(lo: int, hi: int) -> Any:
        return runner.submit(in_range, schedule.pick(buckets, lo, hi), lo, hi)

    last_readers = schedule.last_readers()
    state: Any = {}
    out = []
    for i, month in enumerate(months):
        state = runner.submit(advance, state, events_in(*schedule.carried(i)), schedule.boundary(i))
        recent = events_in(*schedule.recent(i))
        out.append(runner.submit(_rows, fit, data, month, before.pop(month), state, recent, write))
        buckets = [None if last == i else b for b, last in zip(buckets, last_readers, strict=True)]
    since, lo = schedule.final_carry()
    if since == _NO_DAY:  # a cutoff before the last month: carry from the beginning instead
        state = {}
    final = runner.submit(advance, state, events_in(since, lo), lo)
    snapshot = runner.submit(with_snapshot, fit, final, events_in(*schedule.snapshot()))
    return runner.result(snapshot), [runner.result(r) for r in out]


@dataclass(frozen=True)
class WriteRows:
    """Writes a month's rows of the matrix (on the worker that built them)."""

    out: Path

    def __call__(self, month: str, rows: pd.DataFrame) -> None:
        folder = self.out / "months"
        folder.mkdir(parents=True, exist_ok=True)
        rows.to_parquet(folder / f"{month}.parquet", index=False)


def read_matrix(out: Path) -> pd.DataFrame:
    """The matrix ``build_features`` wrote, months in order, as one frame."""
    files = sorted((out / "months").glob("*.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
