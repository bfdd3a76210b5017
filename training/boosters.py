"""The LightGBM fits: one function per model, native categorical handling, early stopping.

Every model is trained on the same numeric matrix the serving path builds
(``FeaturePipeline.transform_matrix``: categoricals as level codes), with those columns declared
categorical, so LightGBM partitions levels itself instead of us one-hot encoding them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import Any

import lightgbm as lgb
import numpy as np

from features.registry import CATEGORICAL, FEATURE_NAMES

BASE: dict[str, Any] = {
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    # high-cardinality categoricals (provider, procedure, diagnosis): demand support per level
    "min_data_per_group": 50,
    "cat_smooth": 20.0,
    "cat_l2": 10.0,
    "max_cat_threshold": 32,
    "num_threads": 2,
    "verbose": -1,
    "seed": 0,
    "deterministic": True,
    "force_row_wise": True,
}
#: How to run on this machine, not what the model is: never written into tuned params files.
MACHINE_SETTINGS = frozenset({"num_threads", "verbose", "force_row_wise", "force_col_wise"})
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "denial": {**BASE, "objective": "binary"},
    "category": {**BASE, "objective": "multiclass", "num_leaves": 15, "min_data_in_leaf": 30},
    "recovery": {
        **BASE,
        "objective": "binary",
        "learning_rate": 0.03,
        "num_leaves": 7,
        "min_data_in_leaf": 40,
        "min_data_per_group": 40,
    },
    # share of the billed charge a payer pays when it pays: the stake of a denial
    "amount": {**BASE, "objective": "regression", "num_leaves": 31},
}
MAX_ROUNDS = 3000
EARLY_STOPPING = 100
#: Below this many training rows the settings follow the data size (``sized``) and the denial
#: model's rounds come from time-ordered cross-validation (``cv_rounds``), not one small window.
SMALL_ROWS = 20_000
CV_FOLDS = 3


def sized(params: dict[str, Any], n_rows: int) -> dict[str, Any]:
    """Leaf sizes for the rows there are. The defaults ask 50 rows of a leaf and of each level of
    a category, which on 2,000 claims leaves trees of a few leaves that learn almost nothing:
    below ``SMALL_ROWS`` a leaf needs 1 % of the rows (at least 5), trees have at most 15 leaves."""
    if n_rows >= SMALL_ROWS:
        return params
    leaf = int(np.clip(n_rows // 100, 5, params["min_data_in_leaf"]))
    return {
        **params,
        "min_data_in_leaf": leaf,
        "min_data_per_group": min(leaf, params["min_data_per_group"]),
        "num_leaves": min(params["num_leaves"], 15),
        "cat_smooth": min(params["cat_smooth"], 10.0),
    }


def time_folds(n: int, k: int = CV_FOLDS) -> list[tuple[np.ndarray, np.ndarray]]:
    """Expanding-window folds over ``n`` rows in time order, as a model is used on claims newer
    than it saw: the rows are cut into ``k + 2`` parts and fold i trains on the first i + 1 of
    them and validates on the next (the smallest fold still trains on two fifths)."""
    edges = np.linspace(0, n, k + 3).astype(int)
    return [(np.arange(edges[i]), np.arange(edges[i], edges[i + 1])) for i in range(2, k + 2)]


def cv_rounds(
    params: dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    names: tuple[str, ...] = FEATURE_NAMES,
    categorical: Collection[str] = CATEGORICAL,
) -> tuple[int, float]:
    """(rounds, mean ROC AUC) on ``time_folds`` of the training rows (in time order). The rounds
    early-stop on the folds' mean log loss; the AUC at that round is what candidates compare
    (ranking: the calibrator fits the scale afterwards)."""
    data = lgb.Dataset(
        x,
        y,
        feature_name=list(names),
        categorical_feature=categorical_indices(names, categorical),
        free_raw_data=False,
        params=params,
    )
    result = lgb.cv(
        {**params, "metric": ["binary_logloss", "auc"]},
        data,
        num_boost_round=MAX_ROUNDS,
        folds=time_folds(len(y)),
        stratified=False,
        callbacks=[lgb.early_stopping(EARLY_STOPPING, first_metric_only=True, verbose=False)],
    )
    curve = result["valid auc-mean"]
    return len(curve), float(curve[-1])


def categorical_indices(names: tuple[str, ...], categorical: Collection[str]) -> list[int]:
    return [i for i, n in enumerate(names) if n in categorical or n == "denial_category"]


def fit_booster(
    params: dict[str, Any],
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    names: tuple[str, ...] = FEATURE_NAMES,
    categorical: Collection[str] = CATEGORICAL,
    max_rounds: int = MAX_ROUNDS,
    progress: Callable[[str], None] | None = None,
    label: str = "",
    rounds: int | None = None,
) -> lgb.Booster:
    """Train with early stopping on the validation window; keep the best iteration only. With
    ``rounds`` (chosen by ``cv_rounds``), train exactly that many and stop on nothing.

    With ``progress``, a long fit says every few seconds how far it is (a 200k-claim category
    model boosts for half a minute)."""
    train = lgb.Dataset(
        x_train,
        y_train,
        feature_name=list(names),
        categorical_feature=categorical_indices(names, categorical),
        free_raw_data=True,
        params=params,  # the same params as training: no "overriding" surprises
    )
    valid = lgb.Dataset(x_valid, y_valid, reference=train)
    stop = [] if rounds else [lgb.early_stopping(EARLY_STOPPING, verbose=False)]
    booster = lgb.train(
        params,
        train,
        num_boost_round=rounds or max_rounds,
        valid_sets=[valid],
        callbacks=[*stop, *([_heartbeat(progress, label)] if progress else [])],
    )
    # Drop the trees after the best iteration so that predict, pred_contrib and the saved model
    # all mean the same model.
    best = None if rounds else booster.best_iteration
    return lgb.Booster(model_str=booster.model_to_string(num_iteration=best))


def _heartbeat(progress: Callable[[str], None], label: str, every: float = 5.0) -> Callable:
    """A LightGBM callback that reports the trees built and the validation score, at most once
    every ``every`` seconds."""
    last = [time.perf_counter()]

    def callback(env: Any) -> None:
        now = time.perf_counter()
        if now - last[0] < every:
            return
        last[0] = now
        result = env.evaluation_result_list[0] if env.evaluation_result_list else None
        score = f", validation {result[1]} {result[2]:.4f}" if result else ""
        progress(f"{label}: {env.iteration + 1} trees{score}")

    return callback
