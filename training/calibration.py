"""Probability calibration on held-out data: isotonic or Platt, chosen by measurement.

Boosted trees rank well but their raw scores drift from observed rates, more so after early
stopping on log loss of a different time window. A biller reads "32 % chance of denial" literally,
so scores are mapped through a calibrator fitted on the validation window. Which calibrator is
not a matter of taste: both are cross-fitted on two halves of the validation window and the one
with the lower Brier score on the other half wins, then it is refitted on the whole window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from training.metrics import brier

EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p))


@dataclass
class Calibrator:
    """A fitted monotone map from raw score to probability."""

    method: str  # "isotonic" | "platt" | "identity"
    isotonic: IsotonicRegression | None = None
    slope: float = 1.0
    intercept: float = 0.0

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=float)
        if self.method == "isotonic":
            return np.clip(self.isotonic.predict(raw), EPS, 1 - EPS)
        if self.method == "platt":
            return 1.0 / (1.0 + np.exp(-(self.slope * _logit(raw) + self.intercept)))
        return raw


def fit_calibrator(raw: np.ndarray, y: np.ndarray, method: str) -> Calibrator:
    raw, y = np.asarray(raw, dtype=float), np.asarray(y, dtype=float)
    if method == "isotonic":
        iso = IsotonicRegression(y_min=EPS, y_max=1 - EPS, out_of_bounds="clip")
        return Calibrator("isotonic", isotonic=iso.fit(raw, y))
    if method == "platt":
        lr = LogisticRegression(C=1e6).fit(_logit(raw)[:, None], y)
        return Calibrator("platt", slope=float(lr.coef_[0, 0]), intercept=float(lr.intercept_[0]))
    return Calibrator("identity")


def choose_calibrator(
    raw: np.ndarray, y: np.ndarray, seed: int = 0
) -> tuple[Calibrator, dict[str, float]]:
    """Cross-fitted Brier of each method on ``(raw, y)``; refit the best on all of it.

    Returns the calibrator and the measured Brier per method (kept in the model's metadata, so
    a reader sees why one was chosen). Too few rows or one class only: identity.
    """
    y = np.asarray(y, dtype=float)
    if len(y) < 40 or y.min() == y.max():
        return Calibrator("identity"), {}
    halves = np.random.default_rng(seed).permutation(len(y)) % 2 == 0
    scores: dict[str, float] = {}
    for method in ("identity", "platt", "isotonic"):
        predictions = np.empty(len(y))
        for fit_on in (halves, ~halves):
            if y[fit_on].min() == y[fit_on].max():
                predictions[~fit_on] = raw[~fit_on]
                continue
            predictions[~fit_on] = fit_calibrator(raw[fit_on], y[fit_on], method)(raw[~fit_on])
        scores[method] = brier(y, predictions)
    best = min(scores, key=scores.get)
    return fit_calibrator(raw, y, best), scores
