"""Benchmark: building the training matrix at 100k and 1M claims, and one-claim ``transform``.

Goals: 1,000,000 claims in under 40 s and under 2.5 GiB on 2 cores (issue 18's leaner
single-machine path; issue 3 asked for 60 s and 6 GiB); single-claim ``transform`` p99 under
2 ms. The build cases run the real ``claimrisk features`` command (load, validate, fit,
point-in-time history, labels, write parquet) in its own process; the latency case times
``transform_matrix`` on one claim at a time, as the API calls it, with JSON-shaped input.

    python -m bench.features [--runs 3] [--sizes 100000,1000000] [--latency-calls 2000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.harness import CLAIMRISK, Measurement, generated_worlds, measure, report

GOALS = {1_000_000: (40.0, 2560.0)}


def _json_value(v: object) -> object:
    if v is None or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
        return None
    return v.strftime("%Y-%m-%d") if hasattr(v, "strftime") else v


def one_claim_requests(tables: dict, n: int) -> list[tuple[dict, dict]]:
    """The last ``n`` claims as JSON-shaped (dict of one-element lists) header + lines pairs."""
    claims = tables["claims"].tail(n)
    lines = tables["claim_lines"]
    by_claim = {cid: grp for cid, grp in lines.groupby("claim_id", sort=False)}
    requests = []
    for row in claims.to_dict("records"):
        header = {k: [_json_value(v)] for k, v in row.items()}
        grp = by_claim[row["claim_id"]]
        requests.append((header, {c: grp[c].tolist() for c in grp.columns}))
    return requests


def transform_latency(data: Path, calls: int) -> Measurement:
    """p50/p99 of ``transform_matrix`` on one claim, after a warm-up; fit on ``data``."""
    from features.io import load_dataset
    from features.pipeline import FeaturePipeline

    tables, _ = load_dataset(data)
    pipeline = FeaturePipeline().fit(tables)
    requests = one_claim_requests(tables, calls)
    for header, lines in requests[:100]:
        pipeline.transform_matrix(header, lines)
    samples = []
    for header, lines in requests:
        began = time.perf_counter()
        pipeline.transform_matrix(header, lines)
        samples.append(time.perf_counter() - began)
    ms = np.array(samples) * 1000
    p99 = float(np.percentile(ms, 99))
    m = Measurement(
        case="transform 1 claim (JSON-shaped)",
        runs=calls,
        median_seconds=statistics.median(samples),
        min_seconds=min(samples),
        max_seconds=max(samples),
        median_peak_rss_mib=float("nan"),
        goal="p99 < 2 ms",
        met=p99 < 2.0,
        detail=f"one claim per call: p50 {np.median(ms):.2f} ms, p99 {p99:.2f} ms",
    )
    return m


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--latency-calls", type=int, default=2000)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        worlds = generated_worlds(args.sizes, seed=1, tmp=tmp)
        for i, (size, data) in enumerate(worlds):
            argv = [CLAIMRISK, "features", "--data", str(data), "--out", f"{tmp}/m.parquet"]
            goal_s, goal_mib = GOALS.get(size, (None, None))
            rows.append(measure(f"features {size:,} claims", argv, args.runs, goal_s, goal_mib))
            if i == 0:
                rows.append(transform_latency(data, args.latency_calls))
    report("features", rows)


if __name__ == "__main__":
    main()
