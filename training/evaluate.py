"""Evaluation on the most recent window: the model, two baselines and (synthetic data) the oracle.

Keys are flat, ``model.metric`` (e.g. ``denial.roc_auc``), values plain numbers, so a JSON file
of them can be diffed, logged to MLflow and compared between runs. Baselines answer "is the model
worth it?"; the oracle (the generator's true probabilities) answers "how much is left?".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.contract import DENIAL_CATEGORIES
from training import metrics as m
from training.data import recovery_windows
from training.linear import fit_linear
from training.model import ClaimriskModel
from training.train import Split
from training.worklist import effort_hours, priority_order

#: Share of the worklist an analyst team gets through: the captured-value cut.
WORKLIST_SHARE = 0.20


def _prefixed(prefix: str, values: dict[str, float]) -> dict[str, float]:
    return {f"{prefix}.{k}": float(v) for k, v in values.items()}


def _reason_rankings(
    category_proba: np.ndarray,
    denial_frame: pd.DataFrame,
    truth_rows: pd.DataFrame | None,
    rows: np.ndarray,
) -> dict[str, float]:
    """Per denial reason, how well claims are ranked by the risk of *that* denial: ROC AUC of
    P(denied) x P(reason | denied) against "denied for this reason", and the oracle's beside it
    (``denial.by_category.<reason>.roc_auc`` / ``.oracle_roc_auc``). The overall gap to the
    oracle hides which reason the model cannot see; this shows it."""
    out: dict[str, float] = {}
    joint = denial_frame["model"].to_numpy()[:, None] * category_proba
    oracle = None
    if truth_rows is not None:
        p_true = truth_rows[[f"p_{c}" for c in DENIAL_CATEGORIES]].to_numpy(dtype=float)[rows]
        oracle = truth_rows["denial_probability"].to_numpy(dtype=float)[rows, None] * p_true
    reasons = denial_frame["category"].to_numpy()
    for i, reason in enumerate(DENIAL_CATEGORIES):
        y = (reasons == reason).astype(float)
        if 0 < y.sum() < len(y):
            out[f"denial.by_category.{reason}.roc_auc"] = m.roc_auc(y, joint[:, i])
            if oracle is not None:
                out[f"denial.by_category.{reason}.oracle_roc_auc"] = m.roc_auc(y, oracle[:, i])
    return out


def evaluate(
    model: ClaimriskModel,
    matrix: pd.DataFrame,
    split: Split,
    truth: pd.DataFrame | None = None,
    baselines: bool = True,
) -> tuple[dict[str, float], dict[str, pd.DataFrame]]:
    """Metrics on the report window, and the per-row frames the report plots from."""
    truth_rows = (
        truth.set_index("claim_id").reindex(matrix["claim_id"]).reset_index()
        if truth is not None
        else None
    )
    out, denial_frame = _denial_metrics(model, matrix, split, truth_rows, baselines)
    out.update(_category_metrics(model, matrix, split, truth_rows))
    recovery, recovery_frame = _recovery_metrics(model, matrix, split, truth_rows)
    out.update(recovery)
    out.update(worklist_metrics(model, matrix, split, truth_rows))
    return out, {"denial": denial_frame, "recovery": recovery_frame}


def _denial_metrics(
    model: ClaimriskModel,
    matrix: pd.DataFrame,
    split: Split,
    truth_rows: pd.DataFrame | None,
    baselines: bool,
) -> tuple[dict[str, float], pd.DataFrame]:
    """The denial model on the report window: overall, against its baselines and the oracle,
    by payer type, the reason ranking and recall by category; and the per-row frame."""
    out: dict[str, float] = {}
    x = split.x
    report = split.window == "report"
    rows = np.flatnonzero(report & matrix["label_denied"].notna().to_numpy())
    y = matrix["label_denied"].to_numpy(dtype=float)[rows]
    p = model.denial_probability(x[rows])
    out.update(_prefixed("denial", m.binary_metrics(y, p)))
    denial_frame = pd.DataFrame(
        {
            "y": y,
            "model": p,
            "payer_type": matrix["payer_type"].astype(object).to_numpy()[rows],
            "category": matrix["label_category"].astype(object).to_numpy()[rows],
        }
    )
    if baselines:
        out.update(_denial_baselines(matrix, split, rows, denial_frame))
    if truth_rows is not None:
        oracle = truth_rows["denial_probability"].to_numpy(dtype=float)[rows]
        denial_frame["oracle"] = oracle
        for k, v in m.binary_metrics(y, oracle).items():
            out[f"denial.oracle_{k}"] = v
    for ptype, grp in denial_frame.groupby("payer_type", observed=True):
        for k in ("roc_auc", "ece", "positive_rate", "mean_prediction", "rows"):
            out[f"denial.by_payer_type.{ptype}.{k}"] = m.binary_metrics(
                grp["y"].to_numpy(), grp["model"].to_numpy()
            )[k]
    out.update(
        _reason_rankings(model.category_probabilities(x[rows]), denial_frame, truth_rows, rows)
    )
    flagged = m.top_share(p, m.FLAG_SHARE)
    for cat_name in DENIAL_CATEGORIES:
        is_cat = denial_frame["category"].to_numpy() == cat_name
        if is_cat.any():
            out[f"denial.by_category.{cat_name}.recall_at_10pct_flagged"] = float(
                flagged[is_cat].mean()
            )
    return out, denial_frame


def _denial_baselines(
    matrix: pd.DataFrame, split: Split, rows: np.ndarray, denial_frame: pd.DataFrame
) -> dict[str, float]:
    """The payer x procedure historical rate and the plain logistic model (the yardstick, on
    the same inputs and training window) on the report rows; their scores join the frame."""
    y = denial_frame["y"].to_numpy()
    hist = matrix["hist_payer_proc_rate"].to_numpy(dtype=float)[rows]
    denial_frame["payer_procedure_rate"] = hist
    out = _prefixed("denial.baseline_payer_procedure", m.binary_metrics(y, hist))
    train = np.flatnonzero((split.window == "train") & matrix["label_denied"].notna().to_numpy())
    y_all = matrix["label_denied"].to_numpy(dtype=float)
    x = split.x
    linear = split.linear or fit_linear(x[train], y_all[train], split.names, split.categorical)
    lr = linear.predict(x[rows])
    denial_frame["logistic"] = lr
    out.update(_prefixed("denial.baseline_logistic", m.binary_metrics(y, lr)))
    return out


def _category_metrics(
    model: ClaimriskModel, matrix: pd.DataFrame, split: Split, truth_rows: pd.DataFrame | None
) -> dict[str, float]:
    """The reason model on the report window's denials: accuracy, log loss, recall by
    category, and the oracle's."""
    out: dict[str, float] = {}
    rows = np.flatnonzero(
        (split.window == "report")
        & (matrix["label_denied"] == 1).to_numpy()
        & matrix["label_category"].notna().to_numpy()
    )
    yc = matrix["label_category"].to_numpy(dtype=object)[rows]
    proba = model.category_probabilities(split.x[rows])
    out["category.top1_accuracy"] = m.top1_accuracy(yc, proba, list(DENIAL_CATEGORIES))
    out["category.log_loss"] = m.multiclass_log_loss(yc, proba, list(DENIAL_CATEGORIES))
    out["category.rows"] = float(len(rows))
    predicted = np.asarray(DENIAL_CATEGORIES, dtype=object)[proba.argmax(axis=1)]
    for cat_name in DENIAL_CATEGORIES:
        is_cat = yc == cat_name
        if is_cat.any():
            out[f"category.by_category.{cat_name}.recall"] = float(
                (predicted[is_cat] == cat_name).mean()
            )
    if truth_rows is not None:
        true_p = truth_rows[[f"p_{c}" for c in DENIAL_CATEGORIES]].to_numpy(dtype=float)[rows]
        out["category.oracle_top1_accuracy"] = m.top1_accuracy(yc, true_p, list(DENIAL_CATEGORIES))
        out["category.oracle_log_loss"] = m.multiclass_log_loss(yc, true_p, list(DENIAL_CATEGORIES))
    return out


def _recovery_metrics(
    model: ClaimriskModel, matrix: pd.DataFrame, split: Split, truth_rows: pd.DataFrame | None
) -> tuple[dict[str, float], pd.DataFrame]:
    """The recovery model on the appeals decided in the report window, and the oracle's."""
    decided = np.flatnonzero(matrix["label_overturned"].notna().to_numpy())
    in_report = recovery_windows(matrix["remit_date"].iloc[decided]) == "report"
    rows = decided[in_report]
    yr = matrix["label_overturned"].to_numpy(dtype=float)[rows]
    cats = matrix["label_category"].to_numpy(dtype=object)[rows]
    pr = model.recovery_probability(split.x[rows], cats)
    out = _prefixed("recovery", m.binary_metrics(yr, pr))
    recovery_frame = pd.DataFrame({"y": yr, "model": pr})
    if truth_rows is not None:
        oracle = truth_rows["overturn_probability"].to_numpy(dtype=float)[rows]
        recovery_frame["oracle"] = oracle
        for k, v in m.binary_metrics(yr, oracle).items():
            out[f"recovery.oracle_{k}"] = v
    return out, recovery_frame


def worklist_metrics(
    model: ClaimriskModel,
    matrix: pd.DataFrame,
    split: Split,
    truth_rows: pd.DataFrame | None,
) -> dict[str, float]:
    """Expected recovered dollars reached in the first 20 % of the report window's denials.

    The items are the report window's denials as of the data's last remit date. An item's
    value is true overturn probability × true recoverable amount, zero past the appeal deadline
    (synthetic data only: the truth is needed to value a denial nobody has appealed yet).
    Three orders are compared: the model's priority, the same priority computed from the
    truth, and oldest denial first (how most queues are worked).
    """
    if truth_rows is None:
        return {}
    rows = np.flatnonzero(
        (split.window == "report")
        & (matrix["label_denied"] == 1).to_numpy()
        & matrix["label_category"].notna().to_numpy()
    )
    if len(rows) == 0:
        return {}
    as_of = matrix["remit_date"].max()
    days_left = (matrix["appeal_deadline"].iloc[rows] - as_of).dt.days.to_numpy(dtype=float)
    cats = matrix["label_category"].to_numpy(dtype=object)[rows]
    denied_amount = matrix["denied_amount"].to_numpy(dtype=float)[rows]
    ranked = model.rank_denials(split.x[rows], cats, denied_amount, days_left)
    value = (
        truth_rows["overturn_probability"].to_numpy(dtype=float)[rows]
        * truth_rows["recoverable_amount"].to_numpy(dtype=float)[rows]
        * (days_left >= 0)
    )
    hours = effort_hours(cats)
    orders = {
        "": np.argsort(ranked["priority"].to_numpy(), kind="stable"),
        "oracle_": priority_order(value, hours, days_left),
        "fifo_": np.argsort(matrix["remit_date"].to_numpy()[rows], kind="stable"),
    }
    out = {"worklist.items": float(len(rows)), "worklist.total_value": float(value.sum())}
    k = int(np.ceil(WORKLIST_SHARE * len(rows)))
    for prefix, order in orders.items():
        out[f"worklist.{prefix}captured_value_at_20pct"] = m.captured_share(
            value, order, WORKLIST_SHARE
        )
        out[f"worklist.{prefix}captured_dollars_at_20pct"] = float(value[order[:k]].sum())
    return out
