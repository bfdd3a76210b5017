"""Performance before outcomes arrive: what the calibrated probabilities say the model's ROC AUC
and denial rate will be on recent claims (confidence-based performance estimation, the idea of
NannyML's CBPE, written here for one binary score in a few lines of numpy).

If the probabilities are calibrated, claim i is denied with probability p_i. The expected ROC AUC
is then the expected share of (denied, paid) pairs the scores order correctly, taken as the ratio
of expected concordant pairs to expected pairs:

    sum over i != j of p_i (1 - p_j) [s_i > s_j]  /  sum over i != j of p_i (1 - p_j)

with ties counted half (isotonic calibration makes many). When the model goes stale its
probabilities stop being calibrated and the estimate drifts from what outcomes later show: the
two are reported side by side as outcomes arrive.
"""

from __future__ import annotations

import numpy as np


def expected_roc_auc(p: np.ndarray, score: np.ndarray | None = None) -> float:
    """The ROC AUC ``score`` (default: ``p`` itself) is expected to reach if the claims are
    denied with probabilities ``p``."""
    p = np.asarray(p, dtype=float)
    s = p if score is None else np.asarray(score, dtype=float)
    q = 1 - p
    values, group = np.unique(s, return_inverse=True)
    sum_p = np.bincount(group, weights=p, minlength=len(values))
    sum_q = np.bincount(group, weights=q, minlength=len(values))
    below = np.cumsum(sum_q) - sum_q  # q of the claims scored strictly lower
    self_pairs = float((p * q).sum())
    concordant = float((sum_p * (below + 0.5 * sum_q)).sum()) - 0.5 * self_pairs
    pairs = float(p.sum() * q.sum()) - self_pairs
    return concordant / pairs if pairs > 0 else float("nan")


def expected_denial_rate(p: np.ndarray) -> float:
    """The denial rate the calibrated probabilities expect."""
    return float(np.mean(p))
