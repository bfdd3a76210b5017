"""Input, prediction and outcome drift: the population stability index (PSI) of each feature,
of the predicted risk and reason mix, and of the reason mix the remits show, recent claims
against the model's training window, overall and per payer.

PSI = sum over bins of (c - r) ln(c / r), with r and c the reference and current shares of a
bin: deciles of the reference for a number (missing values their own bin), one bin per level
for a categorical feature or a mix (its ``MAX_LEVELS`` commonest levels: a thousand providers
would make a noisy statistic; the rest, and a level the reference never had, share a bin, so
new codes show). The usual reading: below 0.1 stable, 0.1-0.25 moderate, 0.25 or more major.
PSI is the industry's test for exactly this question and needs no sample-size tuning on
millions of claims (a chi-square test calls every tiny shift significant there); a payer with
fewer than ``MIN_CLAIMS`` recent claims is not judged (PSI's small-sample bias is about
(bins - 1) / n).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PSI_MODERATE = 0.1
PSI_MAJOR = 0.25
BINS = 10
MIN_CLAIMS = 200
MAX_LEVELS = 20  # a categorical's commonest reference levels; the rest share one bin
_FLOOR = 1e-4  # a share of 0 is read as this (an empty bin would make PSI infinite)


def level(value: float) -> str:
    """'stable', 'moderate' or 'major' for a PSI."""
    return "major" if value >= PSI_MAJOR else "moderate" if value >= PSI_MODERATE else "stable"


def psi_of_shares(reference: np.ndarray, current: np.ndarray) -> float:
    """PSI between two share vectors over the same bins."""
    r = np.maximum(np.asarray(reference, dtype=float), _FLOOR)
    c = np.maximum(np.asarray(current, dtype=float), _FLOOR)
    r, c = r / r.sum(), c / c.sum()
    return float(np.sum((c - r) * np.log(c / r)))


def psi(reference: np.ndarray, current: np.ndarray, categorical: bool = False) -> float:
    """PSI of one variable: ``current`` values against ``reference`` values."""
    ref_bins, cur_bins, n_bins = _bins(
        np.asarray(reference, float), np.asarray(current, float), categorical
    )
    r = np.bincount(ref_bins, minlength=n_bins) / max(len(ref_bins), 1)
    c = np.bincount(cur_bins, minlength=n_bins) / max(len(cur_bins), 1)
    return psi_of_shares(r, c)


def _bins(
    ref: np.ndarray, cur: np.ndarray, categorical: bool
) -> tuple[np.ndarray, np.ndarray, int]:
    """Bin numbers of both samples: reference deciles (or levels), then missing, then new."""
    if categorical:
        seen, counts = np.unique(ref[~np.isnan(ref)], return_counts=True)
        levels = np.sort(seen[np.argsort(-counts, kind="stable")[:MAX_LEVELS]])
        n = len(levels)

        def assign(v: np.ndarray) -> np.ndarray:
            at = np.searchsorted(levels, v).clip(0, max(n - 1, 0))
            known = levels[at] == v if n else np.zeros(len(v), bool)
            return np.where(np.isnan(v), n, np.where(known, at, n + 1))

        return assign(ref), assign(cur), n + 2
    finite = ref[~np.isnan(ref)]
    edges = (
        np.unique(np.quantile(finite, np.linspace(0, 1, BINS + 1)[1:-1]))
        if len(finite)
        else np.array([])
    )
    n = len(edges) + 1

    def place(v: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(v), n, np.searchsorted(edges, v, side="right"))

    return place(ref), place(cur), n + 1


def feature_drift(
    reference: np.ndarray, current: np.ndarray, names: Sequence[str], categorical: set[str]
) -> list[dict]:
    """PSI of every feature (columns of the two matrices), most drifted first."""
    rows = [
        {"feature": name, "psi": round(psi(reference[:, j], current[:, j], name in categorical), 4)}
        for j, name in enumerate(names)
    ]
    for row in rows:
        row["level"] = level(row["psi"])
    return sorted(rows, key=lambda r: -r["psi"])


def mix(labels: np.ndarray, levels: Sequence[str]) -> np.ndarray:
    """Shares of each of ``levels`` among ``labels``."""
    labels = np.asarray(labels, dtype=object)
    counts = np.array([(labels == v).sum() for v in levels], dtype=float)
    return counts / counts.sum() if counts.sum() else counts
