"""Benchmark: ``claimrisk train`` end to end (features, four boosters, evaluation, report, MLflow).

Goal (issue 4): 300,000 claims in under 3 minutes on 2 cores. 1,000,000 claims is reported
for scale. Each case runs the real command in its own process with a temporary MLflow store.

    python -m bench.train [--runs 1] [--sizes 300000,1000000]
"""

from __future__ import annotations

import argparse
import tempfile

from bench.harness import CLAIMRISK, generated_worlds, measure, report

GOALS = {300_000: (180.0, None)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--sizes", default="300000,1000000")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size, data in generated_worlds(args.sizes, seed=99, tmp=tmp):
            argv = [
                CLAIMRISK,
                "train",
                "--data",
                str(data),
                "--out",
                f"{tmp}/model_{size}",
                "--tracking-uri",
                f"sqlite:///{tmp}/mlflow.db",
            ]
            goal_s, goal_mib = GOALS.get(size, (None, None))
            rows.append(measure(f"train {size:,} claims", argv, args.runs, goal_s, goal_mib))
    report("train", rows)


if __name__ == "__main__":
    main()
