"""Benchmark: generating (and writing) the synthetic world at 100k and 1M claims.

Goal (issue 2): 1,000,000 claims in under 60 s and under 4 GiB on 2 cores. Each case runs the
real ``claimrisk generate`` command in its own process.

    python -m bench.generate [--runs 3] [--sizes 100000,1000000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from bench.harness import measure, report

GOALS = {1_000_000: (60.0, 4096.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="100000,1000000")
    args = parser.parse_args()
    claimrisk = str(Path(sys.executable).with_name("claimrisk"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            out = Path(tmp) / f"world_{size}"
            argv = [claimrisk, "generate", "--claims", str(size), "--seed", "1", "--out", str(out)]
            goal_s, goal_mib = GOALS.get(size, (None, None))
            rows.append(
                measure(f"generate {size:,} claims (parquet)", argv, args.runs, goal_s, goal_mib)
            )
            validate = [claimrisk, "validate", str(out)]
            rows.append(measure(f"validate {size:,} claims", validate, args.runs))
            shutil.rmtree(out)
    report("generate", rows)


if __name__ == "__main__":
    main()
