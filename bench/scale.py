"""Benchmark: the Dask engine at 1M, 3M and 10M claims, and its model against the local one.

For each size, in this order on one machine: ``generate --partitioned`` (bounded memory),
``features --engine dask`` and ``train --engine dask`` on a local cluster of ``--workers``
processes with ``--memory-limit`` each. Every case reports wall time, the peak of the whole
process tree's memory (the CLI, the scheduler, the nannies and workers: what the machine must
hold) and the largest single process. Goals (issue 18): the 10M run within 20 GiB in total, and
time close to linear in the number of claims (the table prints seconds per million).

``--parity N`` (default 300,000) also trains the local and the Dask model on the same N claims
and compares their report-window ROC AUC (goal: within 0.002).

    python -m bench.scale [--sizes 1000000,3000000,10000000] [--workers 2] [--memory-limit 6GiB]

Kept out of ``.ci/run`` and ``make bench`` (hours at 10M): ``make bench-scale``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.harness import CLAIMRISK, Measurement, report, run_tree

TOTAL_GOAL_MIB = 20 * 1024
STAGES = ("generate", "features", "train")


def _case(name: str, argv: list[str], goal_mib: float | None = None) -> Measurement:
    seconds, total, largest, output = run_tree(argv)
    met = None if goal_mib is None else total < goal_mib
    goal = f"< {goal_mib / 1024:g} GiB in total" if goal_mib else ""
    detail = f"peak of the process tree {total:,.0f} MiB; largest process {largest:,.0f} MiB"
    stops = re.findall(r"(\w+): best validation loss at (\d+ of \d+) trees", output)
    detail += "".join(f"; {model} kept {trees} trees" for model, trees in stops)
    return Measurement(name, 1, seconds, seconds, seconds, largest, goal, met, detail)


def scale_cases(
    size: int, tmp: Path, engine: list[str], seed: int, stages: set[str]
) -> Iterator[Measurement]:
    """The ``stages`` (of STAGES, in order) at ``size`` claims, each as soon as it is measured
    (a later stage that fails at 10M keeps the hour of the earlier ones)."""
    data, matrix, model = tmp / f"world_{size}", tmp / f"matrix_{size}", tmp / f"model_{size}"
    store = f"sqlite:///{tmp / 'mlruns.db'}"
    argv = {
        "generate": ["generate", "--claims", str(size), "--seed", str(seed), "--partitioned",
                     "--out", str(data)],
        "features": ["features", "--data", str(data), "--out", str(matrix), *engine],
        "train": ["train", "--data", str(data), "--out", str(model), "--tracking-uri", store,
                  *engine],
    }  # fmt: skip
    goal = TOTAL_GOAL_MIB if size >= 10_000_000 else None
    for stage in (s for s in STAGES if s in stages):
        label = f"{argv[stage][0]} {'--partitioned' if stage == 'generate' else '--engine dask'}"
        row = _case(f"{label} {size:,}", [CLAIMRISK, *argv[stage]], goal)
        row.detail += f"; {row.median_seconds / (size / 1e6):.1f} s per million claims"
        yield row
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(matrix, ignore_errors=True)


def parity(size: int, tmp: Path, engine: list[str], seed: int) -> Measurement:
    """Local and Dask models trained on the same claims: their report-window ROC AUC."""
    whole, months = tmp / "parity_whole", tmp / "parity_months"
    store = f"sqlite:///{tmp / 'parity.db'}"
    gen = [CLAIMRISK, "generate", "--claims", str(size), "--seed", str(seed), "--out", str(whole)]
    run_tree(gen)
    run_tree([CLAIMRISK, "partition", "--data", str(whole), "--out", str(months)])
    began = time.perf_counter()
    run_tree([CLAIMRISK, "train", "--data", str(whole), "--out", str(tmp / "local"),
              "--tracking-uri", store])  # fmt: skip
    local_s = time.perf_counter() - began
    run_tree([CLAIMRISK, "train", "--data", str(months), "--out", str(tmp / "dask"),
              "--tracking-uri", store, *engine])  # fmt: skip
    dask_s = time.perf_counter() - began - local_s
    auc = {
        name: json.loads((tmp / name / "metrics.json").read_text())["denial.roc_auc"]
        for name in ("local", "dask")
    }
    gap = abs(auc["local"] - auc["dask"])
    detail = (
        f"report-window ROC AUC local {auc['local']:.4f} ({local_s:.0f} s), dask "
        f"{auc['dask']:.4f} ({dask_s:.0f} s): gap {gap:.4f}"
    )
    return Measurement(
        f"train local vs dask {size:,}", 1, dask_s, dask_s, dask_s, 0.0, "gap < 0.002",
        gap < 0.002, detail,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,3000000,10000000")
    parser.add_argument("--parity", type=int, default=300_000, help="0: skip")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="6GiB")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--tmp", default=None, help="scratch folder (needs ~2 GB per million)")
    parser.add_argument("--stages", default=",".join(STAGES), help="of generate,features,train")
    args = parser.parse_args()
    engine = ["--engine", "dask", "--workers", str(args.workers),
              "--memory-limit", args.memory_limit]  # fmt: skip
    rows: list[Measurement] = []
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        if args.parity:
            rows.append(parity(args.parity, Path(tmp), engine, args.seed))
            report("scale", rows)
        for size in (int(s) for s in args.sizes.split(",") if s):
            stages = set(args.stages.split(","))
            for row in scale_cases(size, Path(tmp), engine, args.seed, stages):
                rows.append(row)
                report("scale", rows)


if __name__ == "__main__":
    main()
