"""Fit every model of a claimrisk bundle from a training matrix, on time windows.

``fit_models`` is pure computation (matrix in, model out); ``claimrisk train`` wraps it with
loading, evaluation, the report and MLflow (see ``training.run``).

Which rows teach which model:

- ``denial``: every claim with a first remit; train window → boosters, validation window →
  early stopping, calibration and the risk-band thresholds.
- ``category``: denied claims, same windows; labels are indices into ``DENIAL_CATEGORIES``.
- ``recovery``: denials whose recovery is known (a decided appeal, or what the 835s show: see
  ``features.labels``), windows by denial date (see ``training.data``); the denial's category is
  a feature. Too few of them, and a documented prior by category stands in (``training.priors``).
- ``amount``: paid claims; target = paid ÷ billed. A denial's stake is what the payer would have
  paid on a clean claim like it, which paid claims show directly and in far larger numbers than
  the few recovered appeals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.contract import DENIAL_CATEGORIES
from features.pipeline import FeaturePipeline
from features.registry import CATEGORICAL, FEATURE_NAMES
from training import metrics as m
from training.boosters import (
    CV_FOLDS,
    DEFAULT_PARAMS,
    SMALL_ROWS,
    cv_rounds,
    fit_booster,
    sized,
    time_folds,
)
from training.calibration import Calibrator, choose_calibrator
from training.data import (
    Windows,
    category_codes,
    feature_matrix,
    recovery_features,
    recovery_matrix,
    recovery_windows,
)
from training.linear import LinearDenial, cv_roc_auc, fit_linear
from training.model import ClaimriskModel
from training.priors import PriorRecovery, too_few
from training.unknowns import Donors

#: Risk bands: the top 10 % of validation claims are ``high`` (what an office can review before
#: submission), the next 15 % ``medium``.
HIGH_SHARE, MEDIUM_SHARE = 0.10, 0.25
#: The amount model needs far fewer rows than there are paid claims.
AMOUNT_ROWS = 200_000

Progress = Callable[[str], None]


@dataclass
class Split:
    """The matrix's numeric features and where each row belongs."""

    x: np.ndarray
    windows: Windows
    window: np.ndarray  # 'train' | 'valid' | 'report' per claim
    names: tuple[str, ...] = FEATURE_NAMES  # the columns of x: the pipeline's features
    categorical: tuple[str, ...] = CATEGORICAL
    #: the logistic model fitted on the training window, when training fitted one: evaluation's
    #: yardstick is that same model (a second fit on 300k claims would cost 10 s)
    linear: LinearDenial | None = None

    @classmethod
    def of(
        cls,
        matrix: pd.DataFrame,
        pipeline: FeaturePipeline | None = None,
        windows: Windows | None = None,
    ) -> Split:
        """Windows (by default: from the matrix's dates) and the numeric matrix of ``pipeline``'s
        features (with its custom ones)."""
        names = pipeline.feature_names if pipeline else FEATURE_NAMES
        categorical = pipeline.categorical_features if pipeline else CATEGORICAL
        windows = windows or Windows.from_dates(matrix["submission_date"])
        x = feature_matrix(matrix, names, categorical)
        return cls(x, windows, windows.assign(matrix["submission_date"]), names, categorical)

    def fit(self, params: dict[str, Any], *data: np.ndarray, **kw: Any) -> lgb.Booster:
        """``fit_booster`` on this matrix's feature names and categoricals."""
        return fit_booster(params, *data, names=self.names, categorical=self.categorical, **kw)


@dataclass(frozen=True)
class Fitted:
    """Denial and reason boosters trained on a cluster, with what they were trained on."""

    denial: lgb.Booster
    category: lgb.Booster
    engine: str  # where, e.g. "lightgbm.dask on 3 workers"
    rows: dict[str, int]  # train/validation rows of each, over the whole data

    def choice(self, valid_auc: float) -> dict[str, Any]:
        why = f"trained with {self.engine}; ROC AUC {valid_auc:.4f} on the validation sample"
        return {"chosen": "lightgbm", "why": why, "roc_auc": {"lightgbm": valid_auc}}


def _rows(mask: np.ndarray, split: Split, which: str) -> np.ndarray:
    return np.flatnonzero(mask & (split.window == which))


def _fit_recovery(
    matrix: pd.DataFrame, split: Split, params: dict[str, dict[str, Any]], progress: Progress
) -> tuple[lgb.Booster | PriorRecovery, Calibrator, dict[str, Any]]:
    """The recovery booster on labelled denials, or the documented prior when they are too few."""
    x = split.x
    decided = np.flatnonzero(matrix["label_overturned"].notna().to_numpy())
    source = matrix["label_recovery_source"].iloc[decided].dropna().unique().tolist()
    rec_window = recovery_windows(matrix["remit_date"].iloc[decided])
    xr = recovery_matrix(x[decided], matrix["label_category"].to_numpy(dtype=object)[decided])
    yr = matrix["label_overturned"].to_numpy(dtype=float)[decided]
    rtr, rva = rec_window == "train", rec_window == "valid"
    rows = {"recovery_train": int(rtr.sum()), "recovery_valid": int(rva.sum())}
    labels = source[0] if source else "none"
    why = too_few(yr[rtr], yr[rva])
    if why:
        progress(f"recovery: {why}; using the published overturn rates by category instead")
        meta = {"labels": labels, "model": "prior", "why": why, "rows": rows, "brier": {}}
        return PriorRecovery(), Calibrator("identity"), meta
    progress(
        f"recovery: {rtr.sum():,} train / {rva.sum():,} validation labelled denials ({labels})"
    )
    recovery = fit_booster(
        params["recovery"],
        xr[rtr],
        yr[rtr],
        xr[rva],
        yr[rva],
        names=recovery_features(split.names),
        categorical=split.categorical,
    )
    calibrator, briers = choose_calibrator(recovery.predict(xr[rva]), yr[rva])
    return (
        recovery,
        calibrator,
        {"labels": labels, "model": "booster", "rows": rows, "brier": briers},
    )


def _fit_denial(
    params: dict[str, Any],
    split: Split,
    y: np.ndarray,
    tr: np.ndarray,
    va: np.ndarray,
    progress: Progress,
) -> tuple[lgb.Booster | LinearDenial, dict[str, Any]]:
    """The denial model that ranks best on claims newer than it saw, and why it was chosen.

    Below ``SMALL_ROWS`` training claims (``tr``, in submission order) three candidates meet on
    time-ordered cross-validation of the training window (``time_folds``): LightGBM with its
    defaults, LightGBM with leaf sizes that follow the data size (``sized``), and the logistic
    regression. The highest mean ROC AUC wins; a booster keeps the rounds its folds chose. With
    more claims the booster early-stops on the validation window and meets the logistic model
    there. The validation window stays the calibrator's either way, so the scale is fitted after
    the choice and the comparison is of ranking alone."""
    x, inputs = split.x, (split.names, split.categorical)
    if len(tr) >= SMALL_ROWS:
        booster = split.fit(params, x[tr], y[tr], x[va], y[va], progress=progress, label="denial")
        linear = split.linear = fit_linear(x[tr], y[tr], *inputs)
        auc = {
            "lightgbm": m.roc_auc(y[va], booster.predict(x[va])),
            "logistic": m.roc_auc(y[va], linear.predict(x[va])),
        }
        where = f"the validation window ({len(va):,} claims)"
        models = {"lightgbm": booster, "logistic": linear}
        chosen = max(auc, key=auc.get)
        model = models[chosen]
    else:
        candidates = {"lightgbm": params, "lightgbm, sized": sized(params, len(tr))}
        rounds, auc = {}, {}
        for name, p in candidates.items():
            rounds[name], auc[name] = cv_rounds(p, x[tr], y[tr], *inputs)
        auc["logistic"] = cv_roc_auc(x[tr], y[tr], time_folds(len(tr)), *inputs)
        chosen = max(auc, key=auc.get)
        where = f"{CV_FOLDS} time-ordered folds of the training window ({len(tr):,} claims)"
        if chosen == "logistic":
            model = split.linear = fit_linear(x[tr], y[tr], *inputs)
        else:
            model = split.fit(candidates[chosen], x[tr], y[tr], x[va], y[va], rounds=rounds[chosen])
    ranked = sorted(auc, key=auc.get, reverse=True)
    why = f"mean ROC AUC on {where}: " + ", ".join(f"{n} {auc[n]:.4f}" for n in ranked)
    progress(f"denial: kept {chosen}; {why}")
    return model, {"chosen": chosen, "why": f"kept {chosen}; {why}", "roc_auc": auc}


def _fit_category(
    matrix: pd.DataFrame,
    split: Split,
    params: dict[str, Any],
    progress: Progress,
    counts: dict[str, int],
) -> lgb.Booster:
    """The reason model on denied claims (labels: indices into ``DENIAL_CATEGORIES``)."""
    denied = (matrix["label_denied"] == 1).to_numpy() & matrix["label_category"].notna().to_numpy()
    cat = category_codes(matrix["label_category"])
    tr, va = _rows(denied, split, "train"), _rows(denied, split, "valid")
    progress(f"category: {len(tr):,} train / {len(va):,} validation denials")
    counts.update(category_train=len(tr), category_valid=len(va))
    x = split.x
    return split.fit(
        {**params, "num_class": len(DENIAL_CATEGORIES)},
        x[tr],
        cat[tr],
        x[va],
        cat[va],
        progress=progress,
        label="category",
    )


def _fit_amount(
    matrix: pd.DataFrame, split: Split, params: dict[str, Any], progress: Progress
) -> lgb.Booster:
    """The share of the billed charge a payer pays, on (a sample of) the paid claims."""
    charge = matrix["total_charge"].to_numpy(dtype=float)
    paid = matrix["label_paid_amount"].notna().to_numpy() & (charge > 0)
    share = matrix["label_paid_amount"].to_numpy(dtype=float) / np.maximum(charge, 0.01)
    tr = _rows(paid, split, "train")
    tr = np.random.default_rng(0).permutation(tr)[:AMOUNT_ROWS]
    va = _rows(paid, split, "valid")[:AMOUNT_ROWS]
    progress(f"amount: {len(tr):,} train / {len(va):,} validation paid claims")
    x = split.x
    return split.fit(params, x[tr], share[tr], x[va], share[va], progress=progress, label="amount")


def fit_models(
    matrix: pd.DataFrame,
    pipeline: FeaturePipeline,
    params: dict[str, dict[str, Any]] | None = None,
    progress: Progress = lambda _: None,
    split: Split | None = None,
    fitted: Fitted | None = None,
) -> tuple[ClaimriskModel, Split]:
    """Train denial, category, recovery and amount models; calibrate; choose risk thresholds.

    ``fitted``: denial and reason boosters already trained elsewhere (``training.distributed``
    trains them on a cluster; ``matrix`` is then a sample of the data), which are calibrated,
    thresholded and bundled here exactly as the ones this function trains."""
    # a params file changes only the keys it names, model by model (tune writes a few)
    params = {
        name: {**base, **(params or {}).get(name, {})} for name, base in DEFAULT_PARAMS.items()
    }
    split = split or Split.of(matrix, pipeline)
    x = split.x
    counts: dict[str, int] = {}

    labelled = matrix["label_denied"].notna().to_numpy()
    y = matrix["label_denied"].to_numpy(dtype=float)
    tr, va = _rows(labelled, split, "train"), _rows(labelled, split, "valid")
    progress(f"denial: {len(tr):,} train / {len(va):,} validation claims")
    order = np.argsort(matrix["submission_date"].to_numpy()[tr], kind="stable")
    if fitted is None:
        denial, choice = _fit_denial(params["denial"], split, y, tr[order], va, progress)
    else:
        denial, choice = (
            fitted.denial,
            fitted.choice(m.roc_auc(y[va], fitted.denial.predict(x[va]))),
        )
    denial_cal, denial_briers = choose_calibrator(denial.predict(x[va]), y[va])
    p_valid = denial_cal(denial.predict(x[va]))
    thresholds = {
        "high": float(np.quantile(p_valid, 1 - HIGH_SHARE)),
        "medium": float(np.quantile(p_valid, 1 - MEDIUM_SHARE)),
    }
    counts.update(denial_train=len(tr), denial_valid=len(va))

    if fitted is None:
        category = _fit_category(matrix, split, params["category"], progress, counts)
    else:
        category = fitted.category
        counts.update(fitted.rows)
    recovery, recovery_cal, recovery_meta = _fit_recovery(matrix, split, params, progress)
    counts.update(recovery_meta.pop("rows"))
    amount = _fit_amount(matrix, split, params["amount"], progress)

    model = ClaimriskModel(
        pipeline=pipeline,
        denial=denial,
        denial_calibrator=denial_cal,
        category=category,
        recovery=recovery,
        recovery_calibrator=recovery_cal,
        amount=amount,
        thresholds=thresholds,
        donors=Donors.draw(x[_rows(labelled, split, "train")]),
        metadata={
            "windows": split.windows.as_dict(),
            "rows": counts,
            "trees": {
                "denial": denial.num_trees(),
                "category": category.num_trees(),
                "recovery": recovery.num_trees(),
                "amount": amount.num_trees(),
            },
            "denial_model": choice,
            "calibration": {
                "denial": {"chosen": denial_cal.method, "brier": denial_briers},
                "recovery": {"chosen": recovery_cal.method, "brier": recovery_meta.pop("brier")},
            },
            "recovery": recovery_meta,
            "thresholds": thresholds,
            "params": params,
            "feature_names": list(pipeline.get_feature_names_out()),
            "history_cutoff": f"{pipeline.cutoff_:%Y-%m-%d}",
        },
    )
    return model, split
