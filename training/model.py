"""The model bundle: the fitted feature pipeline and every booster, saved and served as one.

``ClaimriskModel`` is what ``claimrisk train`` writes to ``models/NAME/model.joblib``, what the
MLflow pyfunc wraps, and what the service loads. Because the pipeline travels inside it, a model
can only ever be fed the features it was trained on.

All predictions start from the numeric feature matrix (``features``): one place turns claims into
numbers, and every model reads it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import lightgbm as lgb
import numpy as np
import pandas as pd

from features.contract import DENIAL_CATEGORIES
from features.pipeline import FeaturePipeline
from training.calibration import Calibrator
from training.data import recovery_matrix
from training.linear import LinearDenial
from training.priors import PriorRecovery
from training.unknowns import Donors
from training.worklist import (
    effort_hours,
    next_steps,
    priority_order,
    reasons,
    within_capacity,
)

BUNDLE_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
RISK_BANDS = ("low", "medium", "high")


@dataclass
class ClaimriskModel:
    """Pipeline + denial, category, recovery and amount boosters + calibrators + thresholds."""

    pipeline: FeaturePipeline
    denial: lgb.Booster | LinearDenial  # the validated winner (training.train._fit_denial)
    denial_calibrator: Calibrator
    category: lgb.Booster
    recovery: lgb.Booster | PriorRecovery
    recovery_calibrator: Calibrator
    amount: lgb.Booster
    #: Calibrated-probability cut points: ``medium`` and ``high`` (see ``training.train``).
    thresholds: dict[str, float]
    metadata: dict[str, Any] = field(default_factory=dict)
    #: Training claims standing in for inputs a claim cannot tell (``training.unknowns``).
    donors: Donors | None = None

    # -- inputs --------------------------------------------------------------------------------

    def features(self, claims: pd.DataFrame | dict, lines: pd.DataFrame | dict) -> np.ndarray:
        return self.pipeline.transform_matrix(claims, lines)

    # -- denial before submission -------------------------------------------------------------

    def denial_probability(self, x: np.ndarray) -> np.ndarray:
        return self.denial_calibrator(self.denial.predict(x, num_threads=1))

    def risk_band(self, probability: np.ndarray) -> np.ndarray:
        return np.select(
            [probability >= self.thresholds["high"], probability >= self.thresholds["medium"]],
            ["high", "medium"],
            "low",
        ).astype(object)

    def category_probabilities(self, x: np.ndarray) -> np.ndarray:
        """P(category | denied), columns in ``DENIAL_CATEGORIES`` order."""
        return self.category.predict(x, num_threads=1).reshape(len(x), len(DENIAL_CATEGORIES))

    def denial_contributions(self, x: np.ndarray) -> np.ndarray:
        """Per-feature SHAP contributions to the raw denial score (log-odds); last column = bias."""
        return self.denial.predict(x, pred_contrib=True, num_threads=1)

    # -- recovery of a denial -----------------------------------------------------------------

    def recovery_probability(self, x: np.ndarray, categories: np.ndarray) -> np.ndarray:
        raw = self.recovery.predict(recovery_matrix(x, categories), num_threads=1)
        return self.recovery_calibrator(raw)

    def payable_share(self, x: np.ndarray) -> np.ndarray:
        """Share of the billed charge the payer would pay on a clean claim like this one."""
        return np.clip(self.amount.predict(x, num_threads=1), 0.0, 1.0)

    def rank_denials(
        self,
        x: np.ndarray,
        categories: np.ndarray,
        denied_amount: np.ndarray,
        days_left: np.ndarray,
        capacity: int | None = None,
    ) -> pd.DataFrame:
        """The worklist: each open denial's odds, dollars, effort and next step, in working order.

        Returns a frame in the input's row order with a ``priority`` column (1 = work first).
        An item whose appeal deadline has passed is worth nothing until a payer says otherwise.
        """
        p = self.recovery_probability(x, categories)
        expired = days_left < 0
        stake = self.payable_share(x) * denied_amount
        expected = np.where(expired, 0.0, p * stake)
        hours = effort_hours(categories)
        order = priority_order(expected, hours, np.nan_to_num(days_left, nan=365.0))
        priority = np.empty(len(order), dtype=np.int64)
        priority[order] = np.arange(1, len(order) + 1)
        steps = next_steps(categories, expected, expired)
        return pd.DataFrame(
            {
                "recovery_probability": p,
                "recoverable_amount": stake,
                "expected_recovery": expected,
                "effort_hours": hours,
                "days_to_deadline": days_left,
                "expired": expired,
                "next_step": steps,
                "priority": priority,
                "within_capacity": within_capacity(order, steps, capacity),
                "reason": reasons(steps, expected, hours, days_left),
            }
        )

    # -- persistence ---------------------------------------------------------------------------

    def save(self, folder: Path) -> Path:
        """Write the bundle and its metadata; the first save records the library versions."""
        from training.bundle import library_versions

        self.metadata.setdefault("versions", library_versions())
        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, folder / BUNDLE_FILE, compress=3)
        (folder / METADATA_FILE).write_text(json.dumps(self.metadata, indent=2, default=str))
        return folder

    @staticmethod
    def load(path: Path) -> ClaimriskModel:
        """Load from a bundle folder or its ``model.joblib``."""
        path = Path(path)
        file = path / BUNDLE_FILE if path.is_dir() else path
        if not file.exists():
            raise FileNotFoundError(
                f"no claimrisk model at {path}: expected {BUNDLE_FILE} (run `claimrisk train`)"
            )
        model = joblib.load(file)
        if not isinstance(model, ClaimriskModel):
            raise TypeError(f"{file} holds a {type(model).__name__}, not a claimrisk model")
        return model
