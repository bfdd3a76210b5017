"""The synthetic world drawn one submission month at a time, in memory that does not grow with it.

``generate(cfg)`` draws every claim at once: at 3M claims it peaks near 7 GiB. ``generate_by_month``
builds the same world (payers, providers, patients and their habits, each patient's plan) and then
draws each month's claims and outcomes on their own, writing them as a partitioned dataset
(``features.partitions``) before the next month is drawn. Two things are shared across months and
fixed first: the calibration of denial mechanisms (``denial_probabilities``' scales), fitted on a
pilot of ``PILOT_CLAIMS`` claims over the whole window so that each payer type meets its target
rate overall and a policy change still shows as a change; and each patient's plan dates.

The claims are not those ``generate`` draws with the same seed (the random streams differ), but the
world and its calibration are the same, and the same seed gives the same files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.contract import TABLES
from features.generate.claims import draw_claims
from features.generate.eligibility import draw_eligibility, patient_plans
from features.generate.outcomes import denial_probabilities, draw_outcomes
from features.generate.world import World, WorldConfig, build_world
from features.io import write_table
from features.partitions import MONTHS, MonthWriter, month_names, write_month

#: Claims of the pilot the calibration is fitted on (enough for every payer type's mix).
PILOT_CLAIMS = 200_000
#: Claims drawn at once: a month of more is drawn as consecutive spans of its days, so that memory
#: is bounded by a span, not by a month (which grows with the claims a world has).
CHUNK_CLAIMS = 100_000
_PARTS = "eligibility-part-*.parquet"


def month_spans(cfg: WorldConfig) -> list[tuple[str, int, int]]:
    """(``YYYY-MM``, first day, end day) of every month of the world's window."""
    first = np.datetime64(cfg.start, "M")
    months = first + np.arange(cfg.months)
    starts = months.astype("datetime64[D]").astype(np.int64)
    ends = (months + 1).astype("datetime64[D]").astype(np.int64)
    lo = max(int(starts[0]), cfg.start_day)
    return [(str(m), max(int(s), lo), int(e)) for m, s, e in zip(months, starts, ends, strict=True)]


def _streams(cfg: WorldConfig, *key: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence([cfg.seed, 2, *key]).spawn(3)]


def calibrate(world: World) -> dict[str, dict[str, float]]:
    """The denial scales of the whole window, fitted on a pilot of its claims."""
    cfg = world.config
    rng = _streams(cfg, 0)[0]
    _, _, drivers = draw_claims(world, rng, n=min(cfg.n_claims, PILOT_CLAIMS))
    return denial_probabilities(world, drivers)[2]


def day_spans(cfg: WorldConfig, i: int, lo: int, hi: int, n: int) -> list[tuple[int, int, int]]:
    """(first day, end day, claims) of the spans month ``i`` is drawn in: consecutive runs of its
    days of about ``CHUNK_CLAIMS`` claims each (one span for a month of fewer)."""
    k = min(-(-n // CHUNK_CLAIMS), hi - lo)
    if k <= 1:
        return [(lo, hi, n)]
    edges = np.linspace(lo, hi, k + 1).round().astype(int)
    counts = np.random.default_rng([cfg.seed, 3, i]).multinomial(n, np.diff(edges) / (hi - lo))
    return [(int(a), int(b), int(c)) for a, b, c in zip(edges[:-1], edges[1:], counts, strict=True)]


def generate_by_month(
    cfg: WorldConfig, out: Path, progress: Callable[[str], None] = lambda _: None
) -> dict[str, int]:
    """Write the world of ``cfg`` under ``out`` month by month; returns rows written per table."""
    world = build_world(cfg)
    draw = _Draw(world, calibrate(world), patient_plans(world, _streams(cfg, 0)[1]))
    out.mkdir(parents=True, exist_ok=True)
    write_table(
        world.payers[list(TABLES["payers"].columns)], TABLES["payers"], out / "payers.parquet"
    )
    spans = month_spans(cfg)
    days = np.array([e - s for _, s, e in spans], dtype=float)
    counts = _streams(cfg, 0)[2].multinomial(cfg.n_claims, days / days.sum())
    rows: dict[str, int] = {}
    for i, ((month, lo, hi), n) in enumerate(zip(spans, counts, strict=True)):
        with MonthWriter(out, month, truth=bool(n)) as writer:
            for c, (first, end, size) in enumerate(day_spans(cfg, i, lo, hi, int(n))):
                if not size:
                    continue
                # the first span draws from the month's own streams: a month of one span is
                # drawn as it was before months were drawn in spans
                parts = draw(_streams(cfg, i + 1, *((c,) if c else ())), (first, end), size)
                writer.append({k: v for k, v in parts.items() if k != "eligibility"})
                _park_responses(out, draw.parts, parts["eligibility"])
                for name, frame in parts.items():
                    rows[name] = rows.get(name, 0) + len(frame)
        progress(f"{month}: {n:,} claims")
    _file_responses(out)
    return rows


class _Draw:
    """Draws a span of days' claims, outcomes and eligibility checks, numbering claims, appeals
    and parts of parked responses on from the last span's."""

    def __init__(self, world: World, scales: dict, plans: tuple[np.ndarray, np.ndarray]) -> None:
        self.world, self.scales, self.plans = world, scales, plans
        self.next_claim, self.next_appeal, self.parts = 1, 1, 0

    def __call__(
        self, streams: list[np.random.Generator], days: tuple[int, int], n: int
    ) -> dict[str, pd.DataFrame]:
        claims_rng, outcome_rng, eligibility_rng = streams
        world = self.world
        claims, lines, drivers = draw_claims(world, claims_rng, n, days, self.next_claim)
        outcome = draw_outcomes(world, claims, lines, drivers, outcome_rng, self.scales)
        appeals = outcome["appeals"]
        first = self.next_appeal
        appeals["appeal_id"] = [f"A{k:08d}" for k in range(first, first + len(appeals))]
        responses = draw_eligibility(world, claims, drivers, eligibility_rng, self.plans)
        self.next_claim, self.next_appeal = self.next_claim + n, first + len(appeals)
        self.parts += 1
        parts = {"claims": claims, "claim_lines": lines, **outcome, "eligibility": responses}
        return {k: _typed(k, v) for k, v in parts.items()}


def _typed(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    if name == "truth":
        return frame
    return TABLES[name].shaped(frame)


def _park_responses(out: Path, part: int, responses: pd.DataFrame) -> None:
    """A month's draw of responses, parked under the months they were checked in."""
    for month, rows in responses.groupby(month_names(responses["checked_date"])):
        folder = out / MONTHS / str(month)
        folder.mkdir(parents=True, exist_ok=True)
        write_table(rows, TABLES["eligibility"], folder / f"eligibility-part-{part:04d}.parquet")


def _file_responses(out: Path) -> None:
    """Each month's parked responses as its one eligibility table, in checked order, numbered
    across months (a month at a time in memory); a month of checks alone gets empty tables."""
    next_id = 1
    for folder in sorted((out / MONTHS).iterdir()):
        parts = sorted(folder.glob(_PARTS))
        if not (folder / "claims.parquet").exists():
            write_month(out, folder.name, {})
        if not parts:
            continue
        table = pa.concat_tables(pq.read_table(p) for p in parts)
        frame = table.to_pandas(date_as_object=False).astype(TABLES["eligibility"].dtypes())
        frame = frame.sort_values("checked_date", kind="stable").reset_index(drop=True)
        frame["response_id"] = [f"E{k:09d}" for k in range(next_id, next_id + len(frame))]
        next_id += len(frame)
        write_table(frame, TABLES["eligibility"], folder / "eligibility.parquet")
        for p in parts:
            p.unlink()
