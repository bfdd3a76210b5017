"""Scores of a probability against outcomes: ranking, calibration and what a worklist gains.

Pure functions of arrays. Every function returns ``nan`` when its metric is undefined (one
class only, no rows) instead of raising, so a report over many slices never stops on a thin one.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

#: The share of claims a billing office can afford to hold back for review before submission.
FLAG_SHARE = 0.10


def _defined(y: np.ndarray) -> bool:
    return len(y) > 0 and 0 < y.sum() < len(y)


def roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    return float(roc_auc_score(y, p)) if _defined(y) else float("nan")


def pr_auc(y: np.ndarray, p: np.ndarray) -> float:
    return float(average_precision_score(y, p)) if _defined(y) else float("nan")


def brier(y: np.ndarray, p: np.ndarray) -> float:
    return float(brier_score_loss(y, p)) if len(y) else float("nan")


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean binary log loss, probabilities clipped away from 0 and 1 (a proper scoring rule:
    what model choice compares)."""
    if not len(y):
        return float("nan")
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 15) -> float:
    """Mean |observed rate − mean prediction| over equal-count bins, weighted by bin size.

    Equal-count (not equal-width) bins, because denial scores crowd near zero: equal-width bins
    would put most claims in one bin and hide miscalibration where the claims are.
    """
    if len(y) == 0:
        return float("nan")
    order = np.argsort(p, kind="stable")
    gaps = [
        abs(y[idx].mean() - p[idx].mean()) * len(idx)
        for idx in np.array_split(order, min(bins, len(y)))
        if len(idx)
    ]
    return float(sum(gaps) / len(y))


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 15) -> tuple[np.ndarray, np.ndarray]:
    """(mean prediction, observed rate) per equal-count bin: the reliability diagram's points."""
    order = np.argsort(p, kind="stable")
    parts = [idx for idx in np.array_split(order, min(bins, max(len(y), 1))) if len(idx)]
    return np.array([p[i].mean() for i in parts]), np.array([y[i].mean() for i in parts])


def top_share(p: np.ndarray, share: float) -> np.ndarray:
    """Boolean mask of the ``share`` highest scores (ties broken by position, deterministic)."""
    k = int(np.ceil(share * len(p)))
    mask = np.zeros(len(p), dtype=bool)
    mask[np.argsort(-p, kind="stable")[:k]] = True
    return mask


def lift_at(y: np.ndarray, p: np.ndarray, share: float = 0.10) -> float:
    """Denial rate among the top ``share`` of scores over the overall rate."""
    if len(y) == 0 or y.mean() == 0:
        return float("nan")
    return float(y[top_share(p, share)].mean() / y.mean())


def recall_at(y: np.ndarray, p: np.ndarray, share: float = FLAG_SHARE) -> float:
    """Share of all denials caught when the top ``share`` of claims are flagged."""
    if y.sum() == 0:
        return float("nan")
    return float(y[top_share(p, share)].sum() / y.sum())


def binary_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """The headline metrics of a binary score, keyed as they appear in the evaluation JSON."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    return {
        "roc_auc": roc_auc(y, p),
        "pr_auc": pr_auc(y, p),
        "brier": brier(y, p),
        "ece": expected_calibration_error(y, p),
        "lift_top_decile": lift_at(y, p, 0.10),
        "recall_at_10pct_flagged": recall_at(y, p),
        "rows": float(len(y)),
        "positive_rate": float(y.mean()) if len(y) else float("nan"),
        "mean_prediction": float(p.mean()) if len(p) else float("nan"),
    }


def top1_accuracy(y: np.ndarray, proba: np.ndarray, classes: list[str]) -> float:
    if len(y) == 0:
        return float("nan")
    return float((np.asarray(classes, dtype=object)[proba.argmax(axis=1)] == y).mean())


def multiclass_log_loss(y: np.ndarray, proba: np.ndarray, classes: list[str]) -> float:
    index = {c: i for i, c in enumerate(classes)}
    rows = np.array([index.get(v, -1) for v in y])
    known = rows >= 0
    if not known.any():
        return float("nan")
    picked = np.clip(proba[np.flatnonzero(known), rows[known]], 1e-15, 1)
    return float(-np.log(picked).mean())


def captured_share(value: np.ndarray, order: np.ndarray, share: float = 0.20) -> float:
    """Share of the total ``value`` in the first ``share`` of items when worked in ``order``."""
    total = value.sum()
    if total <= 0:
        return float("nan")
    k = int(np.ceil(share * len(order)))
    return float(value[order[:k]].sum() / total)
