"""Recovery odds when history is too thin to learn them: a documented prior by denial category.

A practice that sends only 835s, or a new one, may have a few dozen recovered denials: too few
to fit and calibrate a booster on two time windows. Rather than crash or invent a model, the
recovery odds then come from published appeal overturn rates by category
(``../shared/domain/facts.md`` §3 and its calibration table): corrected eligibility, coding and
documentation denials are usually won, medical necessity about half the time, timely filing
almost never. The worklist still ranks by dollars, effort and deadline; the model's metadata
and ``/v1/model`` say the prior is in use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.contract import DENIAL_CATEGORIES

#: P(overturned | appealed) by category; "other" and anything unknown get the all-payer rate.
OVERTURN_PRIOR: dict[str, float] = {
    "eligibility": 0.75,
    "authorization": 0.60,
    "coding": 0.75,
    "medical_necessity": 0.50,
    "documentation": 0.75,
    "timely_filing": 0.02,
    "duplicate": 0.30,
    "coordination_of_benefits": 0.70,
    "non_covered": 0.20,
    "bundling": 0.45,
    "other": 0.55,
}
ALL_PAYER_RATE = 0.55

#: Below this many labelled denials in the training window (or this many of the rarer class, or
#: with an empty validation window), the prior replaces the booster.
MIN_RECOVERY_TRAIN = 200
MIN_RECOVERY_CLASS = 20


@dataclass(frozen=True)
class PriorRecovery:
    """Stands where the recovery booster would: ``predict`` reads the category column only."""

    rates: tuple[float, ...] = tuple(
        OVERTURN_PRIOR.get(c, ALL_PAYER_RATE) for c in DENIAL_CATEGORIES
    )

    def predict(self, matrix: np.ndarray, num_threads: int = 1) -> np.ndarray:
        codes = matrix[:, -1]
        rates = np.asarray(self.rates)
        known = ~np.isnan(codes)
        out = np.full(len(codes), ALL_PAYER_RATE)
        out[known] = rates[codes[known].astype(int)]
        return out

    def num_trees(self) -> int:
        return 0


def too_few(y_train: np.ndarray, y_valid: np.ndarray) -> str | None:
    """Why the recovery labels cannot teach a booster, or None when they can."""
    rarer = min(int((y_train == 1).sum()), int((y_train == 0).sum()))
    if len(y_train) < MIN_RECOVERY_TRAIN or rarer < MIN_RECOVERY_CLASS or len(y_valid) == 0:
        return (
            f"{len(y_train)} labelled denials to train on ({rarer} of the rarer outcome) and "
            f"{len(y_valid)} to validate: fewer than {MIN_RECOVERY_TRAIN} (and "
            f"{MIN_RECOVERY_CLASS} of each outcome) are needed"
        )
    return None
