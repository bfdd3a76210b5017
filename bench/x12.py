"""Benchmark: ingesting X12, end to end (837 + 835 files → matched contract tables).

Goal (issue 6): at least 5,000 claims per second on 2 cores for a 100k-claim 837 + 835 pair.
The files are written by ``claimrisk export-x12`` from a generated world; each case runs the
real ``claimrisk ingest`` in its own process. A second case times segment reading alone
on the same files (the ISA read by pyx12, segments split on its delimiters).

    python -m bench.x12 [--claims 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.harness import Measurement, measure, report, run_once


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    claimrisk = str(Path(sys.executable).with_name("claimrisk"))
    with tempfile.TemporaryDirectory() as tmp:
        data, x12 = Path(tmp) / "world", Path(tmp) / "x12"
        run_once(
            [claimrisk, "generate", "--claims", str(args.claims), "--seed", "5", "--out", str(data)]
        )
        run_once([claimrisk, "export-x12", "--data", str(data), "--out", str(x12)])
        files = sorted(str(p) for p in x12.iterdir())
        argv = [claimrisk, "ingest", "--out", f"{tmp}/ingested"]
        for f in files:
            argv += ["--x12", f]
        ingest = measure(f"ingest {args.claims:,} claims (837+835)", argv, args.runs)
        reader = [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from features.x12.segments import "
            "read_file\nfor f in sys.argv[1:]: read_file(Path(f))",
            *files,
        ]
        segments = measure("segment reading alone", reader, args.runs)
    rate = args.claims / ingest.median_seconds
    ingest.goal, ingest.met = ">= 5,000 claims/s", rate >= 5000
    ingest.detail = (
        f"{rate:,.0f} claims/s end to end; reading segments is "
        f"{segments.median_seconds / ingest.median_seconds:.0%} of the time"
    )
    rows: list[Measurement] = [ingest, segments]
    report("x12", rows)


if __name__ == "__main__":
    main()
