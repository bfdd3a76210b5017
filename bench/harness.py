"""Run benchmark cases in child processes; report median time and each child's own peak memory.

A case is a command line. Each run is a fresh process, so peak RSS (from ``os.wait4``) is that
run's alone, not the benchmark driver's. Results go to a printed table and to
``bench/results/<name>.json`` with the machine facts needed to compare runs.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

RESULTS = Path(__file__).resolve().parent / "results"
#: The ``claimrisk`` command of the interpreter running the benchmark.
CLAIMRISK = str(Path(sys.executable).with_name("claimrisk"))


@dataclass
class Measurement:
    case: str
    runs: int
    median_seconds: float
    min_seconds: float
    max_seconds: float
    median_peak_rss_mib: float
    goal: str = ""
    met: bool | None = None
    detail: str = ""


def run_once(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one child process; raises if it fails."""
    began = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **(env or {})}
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - began
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{proc.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss / 1024  # Linux reports KiB


class TreeRun(NamedTuple):
    seconds: float
    total_mib: float  # peak of the whole process tree
    largest_mib: float  # peak of its largest process
    output: str  # what the command printed (stdout and stderr)


def run_tree(argv: list[str], every: float = 0.5) -> TreeRun:
    """Wall time and peak memory of one command that starts children (a Dask cluster), and what
    it printed: memory is sampled every ``every`` s."""
    import tempfile

    import psutil

    began = time.perf_counter()
    # a pipe would fill with a cluster's logs and block it: the output goes to a file
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        root = psutil.Process(proc.pid)
        total = largest = 0.0
        while proc.poll() is None:
            try:
                rss = [p.memory_info().rss for p in [root, *root.children(recursive=True)]]
            except psutil.Error:
                continue
            total, largest = max(total, sum(rss) / 2**20), max(largest, max(rss) / 2**20)
            time.sleep(every)
        elapsed = time.perf_counter() - began
        log.seek(0)
        output = log.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{output[-4000:]}")
    return TreeRun(elapsed, total, largest, output)


def generated_worlds(sizes: str, seed: int, tmp: str) -> Iterator[tuple[int, Path]]:
    """(size, folder) of a world generated in ``tmp`` for each of the comma-separated ``sizes``,
    each removed once the next is asked for (a 1M world is a few GiB on disk)."""
    for size in (int(s) for s in sizes.split(",")):
        data = Path(tmp) / f"world_{size}"
        run_once([CLAIMRISK, "generate", "--claims", str(size), "--seed", str(seed),
                  "--out", str(data)])  # fmt: skip
        yield size, data
        shutil.rmtree(data, ignore_errors=True)


def measure(
    case: str,
    argv: list[str],
    runs: int,
    goal_seconds: float | None = None,
    goal_mib: float | None = None,
) -> Measurement:
    samples = [run_once(argv) for _ in range(runs)]
    seconds = [s for s, _ in samples]
    rss = statistics.median(m for _, m in samples)
    med = statistics.median(seconds)
    goals, met = [], None
    if goal_seconds is not None:
        goals.append(f"< {goal_seconds:g} s")
        met = med < goal_seconds
    if goal_mib is not None:
        goals.append(f"< {goal_mib / 1024:g} GiB")
        met = (met is not False) and rss < goal_mib
    return Measurement(case, runs, med, min(seconds), max(seconds), rss, " and ".join(goals), met)


def report(name: str, rows: list[Measurement]) -> Path:
    header = (
        f"{'case':<38} {'runs':>4} {'median s':>9} {'min s':>7} {'max s':>7} {'peak MiB':>9}  goal"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        verdict = "" if r.met is None else ("  met" if r.met else "  MISSED")
        print(
            f"{r.case:<38} {r.runs:>4} {r.median_seconds:>9.2f} {r.min_seconds:>7.2f} "
            f"{r.max_seconds:>7.2f} {r.median_peak_rss_mib:>9.0f}  {r.goal}{verdict}"
        )
        if r.detail:
            print(f"    {r.detail}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{name}.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": name,
                "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                },
                "results": [asdict(r) for r in rows],
            },
            indent=2,
        )
    )
    print(f"wrote {out}")
    return out
