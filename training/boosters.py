"""The LightGBM fits: one function per model, native categorical handling, early stopping.

Every model is trained on the same numeric matrix the serving path builds
(``FeaturePipeline.transform_matrix``: categoricals as level codes), with those columns declared
categorical, so LightGBM partitions levels itself instead of us one-hot encoding them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
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


def _categorical_indices(names: tuple[str, ...]) -> list[int]:
    return [i for i, n in enumerate(names) if n in CATEGORICAL or n == "denial_category"]


def fit_booster(
    params: dict[str, Any],
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    names: tuple[str, ...] = FEATURE_NAMES,
    max_rounds: int = MAX_ROUNDS,
    progress: Callable[[str], None] | None = None,
    label: str = "",
) -> lgb.Booster:
    """Train with early stopping on the validation window; keep the best iteration only.

    With ``progress``, a long fit says every few seconds how far it is (a 200k-claim category
    model boosts for half a minute)."""
    categorical = _categorical_indices(names)
    train = lgb.Dataset(
        x_train,
        y_train,
        feature_name=list(names),
        categorical_feature=categorical,
        free_raw_data=True,
        params=params,  # the same params as training: no "overriding" surprises
    )
    valid = lgb.Dataset(x_valid, y_valid, reference=train)
    booster = lgb.train(
        params,
        train,
        num_boost_round=max_rounds,
        valid_sets=[valid],
        callbacks=[
            lgb.early_stopping(EARLY_STOPPING, verbose=False),
            *([_heartbeat(progress, label)] if progress else []),
        ],
    )
    # Drop the trees after the best iteration so that predict, pred_contrib and the saved model
    # all mean the same model.
    return lgb.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration))


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
