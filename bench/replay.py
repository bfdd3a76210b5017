"""Benchmark: a 90-day replay of a generated world (``claimrisk replay``), wall time and dollars.

Goals (issue 13): with the same team capacity, the model's ranking recovers at least 1.3× what
oldest-first does, and at least 95 % of what a ranking by the world's true recovery odds does.
The model is trained only on what was known before the replay's first day
(``store.replay.history_before``), so no outcome of the replay leaks into it.

    python -m bench.replay [--claims 300000] [--days 90] [--hours-per-day 6]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path

from bench.harness import Measurement, report, run_once

CLAIMRISK = str(Path(sys.executable).with_name("claimrisk"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=300_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--hours-per-day", type=float, default=6.0)
    args = parser.parse_args()
    from features.contract import TRUTH
    from features.io import load_dataset, read_truth, write_dataset
    from store.replay import history_before

    with tempfile.TemporaryDirectory() as tmp:
        world, known, model = Path(tmp) / "world", Path(tmp) / "known", Path(tmp) / "model"
        run_once(
            [
                CLAIMRISK,
                "generate",
                "--claims",
                str(args.claims),
                "--seed",
                "13",
                "--out",
                str(world),
            ]
        )
        tables, _ = load_dataset(world)
        start = tables["claims"]["submission_date"].max().date() - dt.timedelta(days=args.days - 1)
        write_dataset(
            history_before(tables, start),
            known,
            "parquet",
            extra={"truth": (TRUTH, read_truth(world))},
        )
        run_once(
            [
                CLAIMRISK,
                "train",
                "--data",
                str(known),
                "--out",
                str(model),
                "--tracking-uri",
                f"sqlite:///{tmp}/mlflow.db",
            ]
        )
        totals = Path(tmp) / "totals.json"
        seconds, rss = run_once(
            [
                CLAIMRISK,
                "replay",
                "--data",
                str(world),
                "--model",
                str(model),
                "--days",
                str(args.days),
                "--hours-per-day",
                str(args.hours_per_day),
                "--db",
                f"sqlite:///{tmp}/replay.db",
                "--json",
                str(totals),
            ]
        )
        arms = json.loads(totals.read_text())["arms"]
    got = {a: arms[a]["dollars_recovered"] for a in arms}
    vs_fifo = got["model"] / got["fifo"] if got["fifo"] else float("inf")
    vs_oracle = got["model"] / got["oracle"] if got["oracle"] else float("nan")
    detail = (
        f"recovered: model ${got['model']:,.0f}, fifo ${got['fifo']:,.0f}, oracle "
        f"${got['oracle']:,.0f}; model ÷ fifo {vs_fifo:.2f}×, model ÷ oracle {vs_oracle:.0%}; "
        f"{args.hours_per_day:g} h/day; expired: "
        + ", ".join(f"{a} {arms[a]['items_expired']}" for a in arms)
    )
    row = Measurement(
        f"replay {args.days} days of {args.claims:,} claims",
        1,
        seconds,
        seconds,
        seconds,
        rss,
        ">= 1.3x fifo and >= 95% of oracle",
        vs_fifo >= 1.3 and vs_oracle >= 0.95,
        detail,
    )
    report("replay", [row])


if __name__ == "__main__":
    main()
