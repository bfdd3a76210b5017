"""Batch scoring of a partitioned dataset: each month's claims through the one scoring path.

``claimrisk score --data PARTITIONED --engine dask`` maps ``training.scoring.score_claims`` over
the months, on the workers: each reads its month, with the eligibility responses known before it
(``features.monthly.responses_before``), and writes ``OUT/months/YYYY-MM.parquet`` (the columns
``claimrisk score`` writes) and, when a claim broke the contract, ``YYYY-MM.rejects.csv`` beside
it. The model is loaded here, from the trusted store, and sent to the workers as an object: they
never unpickle a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from features.monthly import EAGER, Months, Runner, responses_before, with_responses
from training.model import ClaimriskModel
from training.scoring import flat_scores, score_claims


@dataclass(frozen=True)
class MonthScores:
    month: str
    scored: int
    rejected: int


def score_month(
    model: ClaimriskModel, data: Months, month: str, carried: Any, out: Path, version: str
) -> MonthScores:
    """Score one month's claims and write them (and their rejects) under ``out``."""
    tables = with_responses(data(month), carried)
    claims, lines = tables["claims"], tables["claim_lines"]
    scored = score_claims(model, claims, lines, "none", eligibility=tables.get("eligibility"))
    frame = flat_scores(scored, claims["claim_id"].tolist())
    frame["model_version"] = version
    folder = out / "months"
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(folder / f"{month}.parquet", index=False)
    if not scored.rejects.empty:
        scored.rejects.to_csv(folder / f"{month}.rejects.csv", index=False)
    return MonthScores(month, int((frame["status"] == "scored").sum()), len(scored.rejected_ids))


def score_months(
    model: ClaimriskModel, data: Months, out: Path, version: str, runner: Runner = EAGER
) -> list[MonthScores]:
    """Every month's scores, written under ``out``; the model goes to each worker once."""
    shared = runner.submit(_same, model)
    before = responses_before(data, runner)  # let go month by month (each task holds its own)
    months = list(before)
    done = [
        runner.submit(score_month, shared, data, m, before.pop(m), out, version) for m in months
    ]
    return [runner.result(d) for d in done]


def _same(value: Any) -> Any:
    return value
