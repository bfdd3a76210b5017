"""Benchmark: ``claimrisk edits mine`` on 1,000,000 claims, end to end in its own process.

Goal (issue 16): mining edits on 1,000,000 claims in 60 s or less on 2 cores. The time is the
whole command: load and validate the dataset, read every claim's conditions, count, find when
each rule began, write the YAML.

    python -m bench.edits [--runs 3] [--sizes 100000,1000000]
"""

from __future__ import annotations

import argparse
import tempfile

from bench.harness import CLAIMRISK, generated_worlds, measure, report

GOALS = {1_000_000: (60.0, None)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="100000,1000000")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size, data in generated_worlds(args.sizes, seed=1, tmp=tmp):
            argv = [CLAIMRISK, "edits", "mine", "--data", str(data), "--out", f"{tmp}/e.yaml"]
            goal_s, goal_mib = GOALS.get(size, (None, None))
            rows.append(measure(f"edits mine {size:,} claims", argv, args.runs, goal_s, goal_mib))
    report("edits", rows)


if __name__ == "__main__":
    main()
