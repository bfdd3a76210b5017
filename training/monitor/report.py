"""One monitoring pass as of a day: payer-behaviour alerts and performance before outcomes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.labels import build_labels
from training.metrics import roc_auc
from training.model import ClaimriskModel
from training.monitor.changes import detect
from training.monitor.performance import expected_denial_rate, expected_roc_auc

#: Claims submitted in the last this many days are "recent" for the performance estimate.
RECENT_DAYS = 30


def monitor(
    model: ClaimriskModel, tables: dict[str, pd.DataFrame], as_of: pd.Timestamp, watch_days: int
) -> dict[str, Any]:
    """Alerts on outcomes known by ``as_of`` (the last ``watch_days`` watched against the rest)
    and, for claims submitted in the last ``RECENT_DAYS``, the ROC AUC and denial rate their
    calibrated probabilities expect beside what the outcomes known so far show."""
    reference_end = as_of - pd.Timedelta(days=watch_days)
    known = {**tables, "remits": tables["remits"][tables["remits"]["remit_date"] <= as_of]}
    return {
        "as_of": as_of.date().isoformat(),
        "reference_end": reference_end.date().isoformat(),
        "alerts": detect(known, reference_end, as_of),
        "performance": _performance(model, known, as_of),
    }


def _performance(
    model: ClaimriskModel, tables: dict[str, pd.DataFrame], as_of: pd.Timestamp
) -> dict[str, Any]:
    submitted = tables["claims"]["submission_date"]
    recent = (
        (submitted > as_of - pd.Timedelta(days=RECENT_DAYS)) & (submitted <= as_of)
    ).to_numpy()
    if not recent.any():
        return {"claims": 0}
    x = model.pipeline.point_in_time_matrix(tables)[recent]
    p = model.denial_probability(x)
    y = build_labels(tables)["label_denied"].to_numpy(dtype=float)[recent]
    decided = ~np.isnan(y)
    out: dict[str, Any] = {
        "claims": int(recent.sum()),
        "estimated_roc_auc": round(expected_roc_auc(p), 4),
        "estimated_denial_rate": round(expected_denial_rate(p), 4),
        "decided": int(decided.sum()),
    }
    if decided.sum() >= 2 and 0 < y[decided].mean() < 1:
        out["realised_roc_auc"] = round(roc_auc(y[decided], p[decided]), 4)
        out["realised_denial_rate"] = round(float(y[decided].mean()), 4)
    return out
