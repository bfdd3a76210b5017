"""Hyperparameter search for the denial model (Optuna), for data scientists who want it.

Each trial trains on the training window and scores log loss on the validation window: the
report window stays untouched, so the headline numbers of a tuned model are still honest.
The best parameters are written as JSON that ``claimrisk train --params`` reads.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss

from training.boosters import DEFAULT_PARAMS, MACHINE_SETTINGS, fit_booster
from training.train import Split


def tune_denial(
    matrix: pd.DataFrame, trials: int, seed: int = 0, split: Split | None = None
) -> tuple[dict[str, Any], float, float]:
    """(the searched denial params of the best trial, its validation log loss, the defaults'
    validation log loss). The params are only those searched: machine settings (threads) and
    untouched defaults are never part of them."""
    import optuna  # optional: the `tune` extra

    split = split or Split.of(matrix)
    labelled = matrix["label_denied"].notna().to_numpy()
    y = matrix["label_denied"].to_numpy(dtype=float)
    tr = np.flatnonzero(labelled & (split.window == "train"))
    va = np.flatnonzero(labelled & (split.window == "valid"))

    def loss(params: dict[str, Any]) -> float:
        booster = fit_booster(params, split.x[tr], y[tr], split.x[va], y[va])
        return float(log_loss(y[va], booster.predict(split.x[va]), labels=[0, 1]))

    def objective(trial: optuna.Trial) -> float:
        params = {
            **DEFAULT_PARAMS["denial"],
            "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.15, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 7, 127, log=True),
            "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 10, 400, log=True),
            "feature_fraction": trial.suggest_float("feature_fraction", 0.5, 1.0),
            "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 30, log=True),
            "cat_smooth": trial.suggest_float("cat_smooth", 1, 100, log=True),
            "min_data_per_group": trial.suggest_int("min_data_per_group", 10, 300, log=True),
        }
        return loss(params)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=trials)
    best = {k: v for k, v in study.best_params.items() if k not in MACHINE_SETTINGS}
    return best, float(study.best_value), loss(DEFAULT_PARAMS["denial"])
