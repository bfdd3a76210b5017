"""``/model``: the served model, its training window, metrics beside the baselines (and the
oracle on synthetic data), the reliability diagram and what drives the score.

Everything comes from the bundle's metadata (``training.run`` writes the reliability points
and drivers there), so the page describes exactly the model that answers.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from web import charts
from web.auth import NotPermitted, Scorer
from web.render import page

router = APIRouter()
#: (metric key suffix, label, higher is better) shown for the denial model and its comparators.
METRICS = (
    ("roc_auc", "ROC AUC", True),
    ("pr_auc", "PR AUC", True),
    ("brier", "Brier score", False),
    ("ece", "calibration error (ECE)", False),
    ("recall_at_10pct_flagged", "denials caught in the top 10%", True),
)
#: (metric key pattern, column heading): the evaluation's flat keys (training.evaluate).
COMPARATORS = (
    ("denial.{}", "this model"),
    ("denial.baseline_logistic.{}", "baseline: logistic regression"),
    ("denial.baseline_payer_procedure.{}", "baseline: payer × procedure rate"),
    ("denial.oracle_{}", "oracle: the world's true probability"),
)


@router.get("/model")
async def model_page(request: Request, who: Scorer):
    loaded = request.app.state.slot.current
    if loaded is None:
        raise NotPermitted("no model is loaded yet: try again in a moment")
    meta = loaded.model.metadata
    metrics = meta.get("metrics", {})
    table = [
        [label, *(_metric(metrics, pattern.format(key)) for pattern, _ in COMPARATORS)]
        for key, label, _ in METRICS
    ]
    shown = [
        i for i, (pattern, _) in enumerate(COMPARATORS) if pattern.format("roc_auc") in metrics
    ]
    points = meta.get("reliability", {})
    diagram = None
    if points:
        # x: deciles of prediction; each series its observed rate at the model's bins
        xs = [f"{100 * p:.0f}%" for p, _ in points["model"]]
        series = {"ideal": [p for p, _ in points["model"]]}
        series["observed"] = [o for _, o in points["model"]]
        diagram = charts.lines(
            "Reliability: observed denial rate against predicted", xs, series, _pct
        )
    return page(
        request,
        "model.html",
        version=loaded.version,
        meta=meta,
        windows=meta.get("windows", {}),
        header=["metric", *(COMPARATORS[i][1] for i in shown)],
        metric_rows=[[row[0], *(row[i + 1] for i in shown)] for row in table],
        diagram=diagram,
        points=points.get("model", []),
        drivers=meta.get("drivers", []),
        thresholds=loaded.model.thresholds,
    )


def _metric(metrics: dict, key: str) -> str:
    value = metrics.get(key)
    return "" if value is None or value != value else f"{value:.3f}"


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%"
