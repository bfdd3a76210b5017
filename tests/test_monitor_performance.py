"""Estimating ROC AUC before outcomes arrive, from calibrated probabilities alone."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from training.monitor.performance import expected_roc_auc


def test_the_expected_auc_is_what_outcomes_drawn_from_the_probabilities_give():
    rng = np.random.default_rng(7)
    p = rng.beta(1.2, 8.0, 4_000)
    p = np.round(p, 2)  # ties, as isotonic calibration makes them
    realised = [roc_auc_score(rng.random(len(p)) < p, p) for _ in range(400)]
    assert abs(expected_roc_auc(p) - np.mean(realised)) < 0.003


def test_a_score_unrelated_to_the_probabilities_is_expected_to_rank_at_chance():
    rng = np.random.default_rng(8)
    p = rng.beta(1.2, 8.0, 20_000)
    assert abs(expected_roc_auc(p, rng.random(len(p))) - 0.5) < 0.01
    assert expected_roc_auc(p, p) > 0.7  # the probabilities themselves rank well
