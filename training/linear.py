"""The logistic denial model: the honest yardstick, and the model itself when it validates better.

On a few thousand claims a plain logistic regression on one-hot categoricals can beat boosted
trees (they need more rows per leaf than small data has). ``LinearDenial`` is that plain model,
fitted on the same numeric matrix the boosters see (categoricals as level codes, NaN missing):
numeric features median-imputed and standardised, every categorical level seen in training its
own column (an unseen level or a missing value: none). It answers the two calls the bundle
makes of its denial model as a LightGBM booster does, so the scoring path does not know which
model won:

- ``predict(x)`` the probability of denial;
- ``predict(x, pred_contrib=True)`` each feature's contribution to the log-odds, last column the
  bias. For a linear model these are exact SHAP values (features taken as independent): a
  feature's coefficient times its distance from the training mean, summed over its one-hot
  columns.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import OneHotEncoder

from features.registry import CATEGORICAL, FEATURE_NAMES

#: A logistic model is a small model: this many rows fit it as well as all of them.
MAX_ROWS = 100_000
#: Inverse L2 strength: mild, because one-hot levels of rare providers would otherwise overfit.
C = 1.0


class LinearDenial:
    """Logistic regression on the feature matrix, with the booster's ``predict`` interface."""

    def __init__(
        self, names: tuple[str, ...] = FEATURE_NAMES, categorical: Collection[str] = CATEGORICAL
    ) -> None:
        self.names = tuple(names)
        self.categorical = np.array([n in categorical for n in names])

    def fit(self, x: np.ndarray, y: np.ndarray) -> LinearDenial:
        num = x[:, ~self.categorical]
        median = np.nanmedian(np.where(np.isnan(num).all(axis=0), 0.0, num), axis=0)
        self.median_ = np.nan_to_num(median)
        filled = self._filled(x)
        self.mean_, self.scale_ = filled.mean(axis=0), filled.std(axis=0)
        self.scale_[self.scale_ == 0] = 1.0
        self.encoder_ = OneHotEncoder(handle_unknown="ignore", dtype=np.float64)
        self.encoder_.fit(self._codes(x))
        design = self._design(x)
        self.center_ = np.asarray(design.mean(axis=0)).ravel()
        self.model_ = LogisticRegression(C=C, max_iter=2000).fit(design, y)
        # which original feature each design column belongs to, for the contributions
        sizes = [len(c) for c in self.encoder_.categories_]
        self.owner_ = np.concatenate(
            [np.flatnonzero(~self.categorical), np.repeat(np.flatnonzero(self.categorical), sizes)]
        )
        self.importance_ = np.abs(self._contributions(x[: min(len(x), 5_000)])[:, :-1]).mean(0)
        return self

    def _filled(self, x: np.ndarray) -> np.ndarray:
        num = x[:, ~self.categorical]
        return np.where(np.isnan(num), self.median_, num)

    def _codes(self, x: np.ndarray) -> np.ndarray:
        return np.nan_to_num(x[:, self.categorical], nan=-1.0)

    def _design(self, x: np.ndarray) -> sparse.csr_matrix:
        z = (self._filled(x) - self.mean_) / self.scale_
        return sparse.hstack(
            [sparse.csr_matrix(z), self.encoder_.transform(self._codes(x))]
        ).tocsr()

    def _contributions(self, x: np.ndarray) -> np.ndarray:
        design = self._design(x)
        coef = self.model_.coef_.ravel()
        centred = (design.toarray() - self.center_) * coef
        out = np.zeros((len(x), len(self.names) + 1))
        np.add.at(out.T, self.owner_, centred.T)
        out[:, -1] = self.model_.intercept_[0] + float(self.center_ @ coef)
        return out

    def predict(
        self, x: np.ndarray, pred_contrib: bool = False, num_threads: int | None = None
    ) -> np.ndarray:
        """Probability of denial; with ``pred_contrib`` the log-odds contributions (+ bias)."""
        if pred_contrib:
            return self._contributions(x)
        return self.model_.predict_proba(self._design(x))[:, 1]

    def feature_name(self) -> list[str]:
        return list(self.names)

    def feature_importance(self, importance_type: str = "gain") -> np.ndarray:
        """Mean absolute contribution per feature on the training rows (the linear 'gain')."""
        return self.importance_

    def num_trees(self) -> int:
        return 0


def fit_linear(
    x: np.ndarray,
    y: np.ndarray,
    names: tuple[str, ...] = FEATURE_NAMES,
    categorical: Collection[str] = CATEGORICAL,
) -> LinearDenial:
    """The logistic model on at most ``MAX_ROWS`` rows (a fixed sample: same data, same model)."""
    rows = np.random.default_rng(0).permutation(len(x))[:MAX_ROWS]
    rows.sort()
    return LinearDenial(names, categorical).fit(x[rows], y[rows])


def cv_roc_auc(
    x: np.ndarray,
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    names: tuple[str, ...] = FEATURE_NAMES,
    categorical: Collection[str] = CATEGORICAL,
) -> float:
    """Mean ROC AUC of the logistic model over ``folds`` (the boosters' time-ordered folds)."""
    from training.metrics import roc_auc

    return float(
        np.mean(
            [
                roc_auc(y[va], fit_linear(x[tr], y[tr], names, categorical).predict(x[va]))
                for tr, va in folds
            ]
        )
    )
