"""Retraining that is earned: a challenger is fitted on the recent window only when a monitoring
pass calls for it (an alert, a major drift, realised performance below the estimate) or the
champion is older than the schedule allows, and it becomes champion only through the promotion
gate (``training.run.promote``: better on the same population, or nothing changes).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from features.as_of import known_by
from features.io import write_dataset
from training.model import ClaimriskModel
from training.monitor.drift import PSI_MAJOR

#: A month whose realised ROC AUC falls this far below the estimate says the model went stale.
AUC_SHORTFALL = 0.03
#: ... judged only once this share of its claims is decided.
DECIDED_SHARE = 0.9


def triggers(result: dict[str, Any]) -> list[str]:
    """What in a monitoring pass calls for a retrain, one sentence each (none: nothing does)."""
    found = [f"alert: {a['says']}" for a in result["alerts"]]
    found += [
        f"drift: {f['scope']}, {f['what']} (PSI {f['psi']:.2f})"
        for f in result["drift"].get("findings", [])
        if f["psi"] >= PSI_MAJOR
    ]
    for m in result["performance"]["months"]:
        realised = m.get("realised_roc_auc")
        if realised is None or m["decided"] < DECIDED_SHARE * m["claims"]:
            continue
        if realised < m["estimated_roc_auc"] - AUC_SHORTFALL:
            found.append(
                f"performance: {m['month']} realised ROC AUC {realised:.3f} against "
                f"{m['estimated_roc_auc']:.3f} expected"
            )
    return found


def overdue(model: ClaimriskModel, as_of: pd.Timestamp, every_days: int | None) -> str:
    """The schedule's reason to retrain ('' when none): the champion's data ends too long ago."""
    end = (model.metadata.get("windows") or {}).get("end")
    if every_days is None or end is None:
        return ""
    age = (as_of - pd.Timestamp(end)).days
    return (
        f"schedule: the champion's data ends {end}, {age} days ago (every {every_days})"
        if (age >= every_days)
        else ""
    )


@dataclass
class Retrain:
    """What a retrain did and why: the report ``claimrisk retrain`` prints and writes."""

    as_of: str
    triggered_by: list[str]
    window: dict[str, str] = field(default_factory=dict)
    data: str = ""
    model_uri: str = ""
    promotion: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def window_dataset(
    tables: dict[str, pd.DataFrame], as_of: pd.Timestamp, months: int, out: Path
) -> dict[str, str]:
    """Write the claims submitted in the last ``months`` as known by ``as_of`` to ``out``."""
    since = as_of - pd.DateOffset(months=months) + pd.Timedelta(days=1)
    recent = known_by(tables, as_of, since)
    write_dataset(recent, out)
    return {
        "from": f"{since:%Y-%m-%d}",
        "to": f"{as_of:%Y-%m-%d}",
        "claims": str(len(recent["claims"])),
    }
