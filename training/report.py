"""The model report: plots and a Markdown page written next to the model and logged to MLflow.

A data scientist deciding whether to promote a model reads this page: headline numbers against
the baselines and the oracle, ROC and reliability curves, lift, and what drives the score
(gain importance and mean |SHAP| from LightGBM's own ``pred_contrib``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from training import metrics as m
from training.model import ClaimriskModel

REPORT_FILE = "report.md"
HEADLINE = (
    ("denial.roc_auc", "denial.oracle_roc_auc", "denial ROC AUC"),
    ("denial.pr_auc", "denial.oracle_pr_auc", "denial PR AUC"),
    ("denial.brier", "denial.oracle_brier", "denial Brier"),
    ("denial.ece", "denial.oracle_ece", "denial ECE"),
    ("denial.lift_top_decile", "denial.oracle_lift_top_decile", "lift, top decile"),
    (
        "denial.recall_at_10pct_flagged",
        "denial.oracle_recall_at_10pct_flagged",
        "recall, 10% flagged",
    ),
    ("category.top1_accuracy", "category.oracle_top1_accuracy", "category top-1 accuracy"),
    ("recovery.roc_auc", "recovery.oracle_roc_auc", "recovery ROC AUC"),
    (
        "worklist.captured_value_at_20pct",
        "worklist.oracle_captured_value_at_20pct",
        "worklist value in first 20%",
    ),
)


def _fmt(v: float | None) -> str:
    return "–" if v is None or not np.isfinite(v) else f"{v:.4f}"


def _roc(ax: plt.Axes, frame: pd.DataFrame, title: str) -> None:
    for column in ("model", "oracle", "logistic", "payer_procedure_rate"):
        if column in frame and frame["y"].nunique() == 2:
            fpr, tpr, _ = roc_curve(frame["y"], frame[column].fillna(frame[column].mean()))
            auc = m.roc_auc(frame["y"].to_numpy(), frame[column].fillna(0).to_numpy())
            ax.plot(fpr, tpr, label=f"{column} ({auc:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.5)
    ax.set(title=title, xlabel="false positive rate", ylabel="true positive rate")
    ax.legend(fontsize=8)


def _reliability(ax: plt.Axes, frame: pd.DataFrame) -> None:
    for column in ("model", "oracle"):
        if column in frame:
            pred, obs = m.reliability(frame["y"].to_numpy(), frame[column].to_numpy())
            ax.plot(pred, obs, marker="o", ms=3, label=column)
    top = float(max(frame["model"].max(), frame["y"].mean() * 2))
    ax.plot([0, top], [0, top], color="grey", lw=0.5)
    ax.set(title="reliability (denial)", xlabel="mean predicted", ylabel="observed rate")
    ax.legend(fontsize=8)


def _lift(ax: plt.Axes, frame: pd.DataFrame) -> None:
    y = frame["y"].to_numpy()
    share = np.arange(1, len(y) + 1) / len(y)
    for column in ("model", "oracle", "logistic"):
        if column in frame:
            order = np.argsort(-frame[column].to_numpy(), kind="stable")
            ax.plot(share, np.cumsum(y[order]) / max(y.sum(), 1), label=column)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.5)
    ax.axvline(m.FLAG_SHARE, color="grey", ls=":", lw=0.8)
    ax.set(title="cumulative gains (denial)", xlabel="share of claims flagged", ylabel="recall")
    ax.legend(fontsize=8)


def _drivers(model: ClaimriskModel, x_sample: np.ndarray) -> pd.DataFrame:
    names = model.denial.feature_name()
    gain = model.denial.feature_importance("gain")
    shap = np.abs(model.denial_contributions(x_sample)[:, :-1]).mean(axis=0)
    return pd.DataFrame(
        {"feature": names, "gain_share": gain / max(gain.sum(), 1e-12), "mean_abs_shap": shap}
    ).sort_values("mean_abs_shap", ascending=False)


def model_page_facts(
    model: ClaimriskModel, frames: dict[str, pd.DataFrame], x_sample: np.ndarray
) -> dict[str, Any]:
    """What the web app's model page shows, kept in the bundle's metadata (the page has the
    model, not the report folder): the denial reliability points on the report window, for
    the model and the oracle where known, and the top drivers."""
    frame = frames["denial"]
    points = {}
    for column in ("model", "oracle"):
        if column in frame:
            pred, obs = m.reliability(frame["y"].to_numpy(), frame[column].to_numpy())
            pairs = zip(pred, obs, strict=True)
            points[column] = [[round(float(a), 5), round(float(b), 5)] for a, b in pairs]
    top = _drivers(model, x_sample).head(15)
    return {
        "reliability": points,
        "drivers": [
            {"feature": r.feature, "gain": float(r.gain_share), "shap": float(r.mean_abs_shap)}
            for r in top.itertuples()
        ],
    }


def _denial_model_sentence(meta: dict) -> str:
    """Which denial model the bundle serves, and why (``training.train._fit_denial``)."""
    choice = meta.get("denial_model")
    if not choice:
        return "Denial model: LightGBM."
    name = "the logistic regression" if choice["chosen"] == "logistic" else choice["chosen"]
    return f"**Denial model: {name}**, chosen as the best ranker: {choice['why']}."


def write_report(
    folder: Path,
    model: ClaimriskModel,
    metrics: dict[str, float],
    frames: dict[str, pd.DataFrame],
    x_sample: np.ndarray,
    title: str = "claimrisk model report",
) -> Path:
    """Write ``report.md`` and its PNG plots into ``folder``; return the Markdown path."""
    folder.mkdir(parents=True, exist_ok=True)
    drivers = _drivers(model, x_sample)
    _plots(folder, frames, drivers)
    out = folder / REPORT_FILE
    out.write_text("\n".join(_markdown(model, metrics, drivers, title)) + "\n")
    drivers.to_csv(folder / "drivers.csv", index=False)
    return out


def _plots(folder: Path, frames: dict[str, pd.DataFrame], drivers: pd.DataFrame) -> None:
    """The report's PNGs: the denial model's curves, the recovery ROC, the SHAP summary."""
    denial = frames["denial"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    _roc(axes[0], denial, "ROC (denial, report window)")
    _reliability(axes[1], denial)
    _lift(axes[2], denial)
    fig.tight_layout()
    fig.savefig(folder / "denial_curves.png", dpi=90)
    plt.close(fig)

    if "recovery" in frames and len(frames["recovery"]):
        fig, ax = plt.subplots(figsize=(5, 4.5))
        _roc(ax, frames["recovery"], "ROC (recovery on appeal)")
        fig.tight_layout()
        fig.savefig(folder / "recovery_roc.png", dpi=90)
        plt.close(fig)

    top = drivers.head(20).iloc[::-1]
    fig, ax = plt.subplots(figsize=(7, 6))
    ax.barh(top["feature"], top["mean_abs_shap"])
    ax.set(title="SHAP summary: mean |contribution| to denial log-odds", xlabel="mean |SHAP|")
    fig.tight_layout()
    fig.savefig(folder / "shap_summary.png", dpi=90)
    plt.close(fig)


def _markdown(
    model: ClaimriskModel, metrics: dict[str, float], drivers: pd.DataFrame, title: str
) -> list[str]:
    """The report's lines: windows and calibration, model against oracle, baselines, payer
    types, plots and drivers."""
    return [
        *_summary_lines(model, metrics, title),
        *_baseline_lines(metrics),
        *_payer_type_lines(metrics),
        *_driver_lines(drivers),
    ]


def _summary_lines(model: ClaimriskModel, metrics: dict[str, float], title: str) -> list[str]:
    """Title, windows, calibration and bands, the model against the oracle, FIFO's capture."""
    meta = model.metadata
    lines = [
        f"# {title}",
        "",
        f"Windows (submission dates): {meta.get('windows')}. History cutoff "
        f"{meta.get('history_cutoff')}. Rows: {meta.get('rows')}. Trees: {meta.get('trees')}.",
        "",
        _denial_model_sentence(meta),
        "",
        "Calibration chosen by cross-fitted Brier on the validation window: "
        + ", ".join(f"{k} → **{v['chosen']}**" for k, v in meta.get("calibration", {}).items())
        + ". Risk bands (calibrated probability): "
        + ", ".join(f"{k} ≥ {v:.3f}" for k, v in model.thresholds.items())
        + ".",
        "",
        "## Report window: model against the oracle (true probabilities)",
        "",
        "| metric | model | oracle | oracle − model |",
        "|---|---:|---:|---:|",
    ]
    for key, oracle_key, label in HEADLINE:
        v, o = metrics.get(key), metrics.get(oracle_key)
        gap = o - v if v is not None and o is not None else None
        lines.append(f"| {label} | {_fmt(v)} | {_fmt(o)} | {_fmt(gap)} |")
    lines += [
        "",
        "Oldest-first worklist reaches "
        f"{_fmt(metrics.get('worklist.fifo_captured_value_at_20pct'))} of the expected "
        "recoverable value in its first 20 % of items.",
        "",
    ]
    return lines


def _baseline_lines(metrics: dict[str, float]) -> list[str]:
    """The denial model beside its baselines and the oracle, on the report window."""
    lines = [
        "## Baselines (denial, report window)",
        "",
        "| model | ROC AUC | PR AUC | Brier | ECE | recall, 10% flagged |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, prefix in (
        ("claimrisk", "denial"),
        ("logistic regression, same features", "denial.baseline_logistic"),
        ("payer × procedure historical rate", "denial.baseline_payer_procedure"),
        ("oracle", "denial.oracle"),
    ):
        sep = "_" if prefix == "denial.oracle" else "."
        cells = [
            _fmt(metrics.get(f"{prefix}{sep}{k}"))
            for k in ("roc_auc", "pr_auc", "brier", "ece", "recall_at_10pct_flagged")
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def _payer_type_lines(metrics: dict[str, float]) -> list[str]:
    """The denial model's ROC AUC and ECE by payer type."""
    lines: list[str] = []
    lines += ["", "## By payer type (denial)", "", "| payer type | rows | ROC AUC | ECE |"]
    lines.append("|---|---:|---:|---:|")
    for ptype in sorted(
        {k.split(".")[2] for k in metrics if k.startswith("denial.by_payer_type.")}
    ):
        p = f"denial.by_payer_type.{ptype}."
        lines.append(
            f"| {ptype} | {metrics.get(p + 'rows', 0):.0f} | {_fmt(metrics.get(p + 'roc_auc'))} "
            f"| {_fmt(metrics.get(p + 'ece'))} |"
        )
    return lines


def _driver_lines(drivers: pd.DataFrame) -> list[str]:
    """The plots, then the top 15 drivers of the denial score."""
    lines: list[str] = []
    lines += [
        "",
        "## Plots",
        "",
        "![denial curves](denial_curves.png)",
        "",
        "![recovery ROC](recovery_roc.png)",
        "",
        "![SHAP summary](shap_summary.png)",
        "",
        "## What drives the denial score (top 15 by mean |SHAP|)",
        "",
        "| feature | mean abs SHAP | gain share |",
        "|---|---:|---:|",
    ]
    for row in drivers.head(15).itertuples():
        lines.append(f"| `{row.feature}` | {row.mean_abs_shap:.4f} | {row.gain_share:.3f} |")
    return lines


def report_source(reference: str, tracking_uri: str | None = None) -> tuple[ClaimriskModel, Path]:
    """A trained model and the folder holding its report (report.md, metrics.json, plots).

    ``reference`` is a bundle folder (relative to the current directory or the repository
    root) or a registry URI such as ``models:/claimrisk@champion``, whose report is the run's
    ``report`` artifacts, downloaded.
    """
    from features.io import resolve_path
    from training.bundle import is_registry_uri, load_bundle

    if not is_registry_uri(reference):
        folder = resolve_path(reference)
        return load_bundle(str(folder)), folder
    import mlflow

    model = load_bundle(reference, tracking_uri)
    run_id = mlflow.models.get_model_info(reference).run_id
    return model, Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="report"))
