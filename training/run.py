"""The jobs behind ``claimrisk train``, ``evaluate`` and ``promote``: I/O around pure steps.

``train`` loads a dataset, builds the point-in-time matrix, fits and evaluates the models,
writes the bundle and its report under ``models/NAME`` and logs the run (params, data window,
row counts, metrics, report, pyfunc model) to MLflow.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

from features.io import load_dataset, read_truth
from features.pipeline import build_training_matrix, take_training_matrix
from training import tracking
from training.bundle import load_bundle
from training.evaluate import evaluate
from training.model import ClaimriskModel
from training.report import model_page_facts, write_report
from training.train import Progress, Split, fit_models

#: The metric ``promote`` compares, and which way is better.
PROMOTION_METRIC = "denial.roc_auc"


@dataclass
class TrainResult:
    model: ClaimriskModel
    metrics: dict[str, float]
    folder: Path
    run_id: str
    model_uri: str
    seconds: float


class Stopwatch:
    """Prints each stage with the elapsed time, so a long run is never silent."""

    def __init__(self, echo: Progress) -> None:
        self.began = time.perf_counter()
        self.echo = echo

    def __call__(self, message: str) -> None:
        self.echo(f"[{time.perf_counter() - self.began:6.1f} s] {message}")

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.began


@dataclass
class Fit:
    """What a fit hands to the steps every training run shares: the bundle, the rows it is
    evaluated on (all of them, or the cluster path's sample) and two claims for MLflow's example."""

    model: ClaimriskModel
    matrix: pd.DataFrame
    split: Split
    truth: pd.DataFrame | None
    example: tuple[pd.DataFrame, pd.DataFrame]


def train(
    data: Path,
    out: Path,
    tracking_uri: str | None = None,
    experiment: str = tracking.DEFAULT_EXPERIMENT,
    params: dict[str, dict[str, Any]] | None = None,
    echo: Progress = print,
    client: Any = None,
    rounds: int | None = None,
) -> TrainResult:
    """Train on ``data`` here, or (``client``: a Dask client, ``data`` partitioned by month) on
    the cluster (``training.distributed``); then evaluate, report, save and log alike."""
    clock = Stopwatch(echo)
    if client is None:
        fit = _fit_here(data, params, clock)
    else:
        fit = _fit_on_cluster(client, data, out, params, rounds, clock)
    return _finish(fit, data, out, tracking_uri, experiment, clock)


def _fit_here(data: Path, params: dict | None, clock: Stopwatch) -> Fit:
    clock(f"loading {data}")
    tables, _ = load_dataset(data)
    truth = read_truth(data)
    clock(f"{len(tables['claims']):,} claims; building point-in-time features")
    # take copies the two rows (a tail(2) view would keep the whole table alive)
    claims = tables["claims"].take(np.arange(len(tables["claims"]))[-2:])
    lines = tables["claim_lines"][tables["claim_lines"]["claim_id"].isin(claims["claim_id"])]
    matrix, pipeline = take_training_matrix(tables)  # frees each table once read
    clock(f"training matrix {matrix.shape[0]:,} x {len(pipeline.get_feature_names_out())}")
    model, split = fit_models(matrix, pipeline, params, progress=clock)
    return Fit(model, matrix, split, truth, (claims, lines))


def _fit_on_cluster(
    client: Any, data: Path, out: Path, params: dict | None, rounds: int | None, clock: Stopwatch
) -> Fit:
    import tempfile

    from features.distributed import build_features
    from features.partitions import FolderMonths, load_truth
    from training.distributed import ROUNDS, train_on_cluster

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"{out.name}-matrix-", dir=out.parent) as work:
        clock(f"building point-in-time features of {data} on the cluster")
        pipeline, rows = build_features(client, data, Path(work))
        clock(f"training matrix {rows:,} x {len(pipeline.feature_names)}; fitting on the cluster")
        fitted = train_on_cluster(client, Path(work), pipeline, params, rounds or ROUNDS, clock)
    months = FolderMonths(data)
    ids = set(fitted.sample["claim_id"])
    truths = [load_truth(data, m) for m in months.months()]
    truths = [t[t["claim_id"].isin(ids)] for t in truths if t is not None]
    last = months(months.months()[-1])
    claims = last["claims"].tail(2)
    lines = last["claim_lines"][last["claim_lines"]["claim_id"].isin(claims["claim_id"])]
    truth = pd.concat(truths, ignore_index=True) if truths else None
    return Fit(fitted.model, fitted.sample, fitted.split, truth, (claims, lines))


def _finish(
    fit: Fit, data: Path, out: Path, tracking_uri: str | None, experiment: str, clock: Stopwatch
) -> TrainResult:
    """Evaluate on the report window, save the bundle and its report, log the run to MLflow."""
    model, matrix, split, truth = fit.model, fit.matrix, fit.split, fit.truth
    clock(
        "evaluating on the report window (model, baselines"
        + (", oracle)" if truth is not None else ")")
    )
    metrics, frames = evaluate(model, matrix, split, truth)
    model.metadata["metrics"] = metrics
    sample = split.x[np.random.default_rng(0).permutation(len(split.x))[:2000]]
    model.metadata.update(model_page_facts(model, frames, sample))
    model.metadata["data"] = str(data)
    model.metadata["trained_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    clock(f"saving the bundle to {out}")
    model.save(out)
    clock("writing the report (plots, SHAP drivers on 2,000 claims)")
    write_report(out, model, metrics, frames, sample, title=f"claimrisk model report: {out.name}")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True))
    clock("logging the run to MLflow (params, metrics, report)")

    uri = tracking.use_store(tracking_uri, experiment)
    with mlflow.start_run(run_name=out.name) as run:
        mlflow.log_params(_flat_params(model, data))
        mlflow.log_metrics(tracking.as_metrics(metrics))
        mlflow.log_metric("train_seconds", clock.seconds)
        mlflow.set_tags({f"window.{k}": v for k, v in model.metadata["windows"].items()})
        mlflow.log_artifacts(str(out), artifact_path="report")
        example = tracking.flatten(*fit.example)
        clock("logging the model to MLflow (it loads and scores an example claim first)")
        model_uri = tracking.log_model(model, out, tracking.json_shaped(example))
        run_id = run.info.run_id
    model.metadata.update(run_id=run_id, model_uri=model_uri, tracking_uri=uri)
    model.save(out)
    clock("done")
    return TrainResult(model, metrics, out, run_id, model_uri, clock.seconds)


def _flat_params(model: ClaimriskModel, data: Path) -> dict[str, Any]:
    flat: dict[str, Any] = {"data": str(data)}
    for name, params in model.metadata["params"].items():
        for k, v in params.items():
            flat[f"{name}.{k}"] = v
    for k, v in model.metadata["rows"].items():
        flat[f"rows.{k}"] = v
    for k, v in model.metadata["windows"].items():
        flat[f"window.{k}"] = v
    flat["calibration.denial"] = model.denial_calibrator.method
    flat["calibration.recovery"] = model.recovery_calibrator.method
    return flat


def evaluate_on(
    model: ClaimriskModel, tables: dict[str, pd.DataFrame], truth: pd.DataFrame | None
) -> dict[str, float]:
    """A fitted model's metrics on the most recent window of ``tables``.

    Labels and windows come from the data; the features come from the model's own pipeline
    with history taken point in time from the data (``point_in_time_matrix``).
    """
    matrix, _ = build_training_matrix(tables)
    split = Split.of(matrix)
    pipe = model.pipeline
    split = Split(
        pipe.point_in_time_matrix(tables),
        split.windows,
        split.window,
        pipe.feature_names,
        pipe.categorical_features,
    )
    metrics, _ = evaluate(model, matrix, split, truth)
    return metrics


def logged_uri(reference: str) -> str:
    """An MLflow model URI as given, or the one a bundle folder was logged under."""
    if reference.startswith(("models:/", "runs:/")):
        return reference
    meta = Path(reference) / "metadata.json"
    if not meta.exists():
        raise FileNotFoundError(
            f"{reference} is neither an MLflow model URI (models:/..., runs:/...) nor a bundle "
            "folder written by `claimrisk train`"
        )
    return json.loads(meta.read_text())["model_uri"]


#: The least share of the judged claims whose payer and provider the champion knows: below it
#: the data is another population, on which the champion loses by construction.
MIN_OVERLAP = 0.5


@dataclass
class Promotion:
    version: str
    promoted: bool
    challenger: float | None
    champion: float | None
    champion_version: str | None
    data: Path
    refused: str = ""  # why the two could not be judged fairly (nothing was changed)


def unfair(champion: ClaimriskModel, tables: dict[str, pd.DataFrame]) -> str:
    """Why ``tables``' recent window is no fair ground for ``champion`` ('' when it is).

    The window must be the champion's population: most claims from payers and providers it
    knows, and not from before everything it learnt from. (A champion trained on part of the
    window is favoured by it: the gate stays conservative, never lax.)
    """
    from training.data import Windows

    claims = tables["claims"]
    window = Windows.from_dates(claims["submission_date"])
    recent = claims[claims["submission_date"] >= window.report_start]
    lines = tables["claim_lines"][tables["claim_lines"]["claim_id"].isin(recent["claim_id"])]
    unseen = champion.pipeline.encode(recent, lines).unseen
    for role in ("payer_id", "provider_npi"):
        known = 1 - np.mean([any(u.startswith(f"{role}=") for u in flags) for flags in unseen])
        if known < MIN_OVERLAP:
            return (
                f"only {known:.0%} of the judged claims have a {role.split('_')[0]} the champion "
                f"knows (at least {MIN_OVERLAP:.0%} needed): this data is another population; "
                "judge on the data the champion serves"
            )
    start = (champion.metadata.get("windows") or {}).get("start")
    if start and window.end < pd.Timestamp(start):
        return (
            f"the judged window ends {window.end:%Y-%m-%d}, before anything the champion learnt "
            f"from (its training starts {pd.Timestamp(start):%Y-%m-%d}): another time"
        )
    return ""


def promote(
    model_uri: str,
    data: Path | None = None,
    tracking_uri: str | None = None,
    force: bool = False,
) -> Promotion:
    """Register ``model_uri`` as ``claimrisk``; move ``champion`` to it only if it beats the
    current champion on the same population: the recent window of the data the challenger was
    trained on (or ``data``). Refuses, changing nothing, when that window is no fair ground for
    the champion (``unfair``), unless forced."""
    tracking.use_store(tracking_uri)
    client = MlflowClient()
    model_uri = logged_uri(model_uri)
    challenger_model = load_bundle(model_uri, tracking_uri)
    data = data or Path(challenger_model.metadata.get("data", ""))
    tables, _ = load_dataset(data)
    truth = read_truth(data)
    current = tracking.champion_version(client)
    champion_model = champion = None
    if current is not None:
        champion_model = load_bundle(
            f"models:/{tracking.REGISTERED_NAME}@{tracking.CHAMPION}", tracking_uri
        )
        refused = unfair(champion_model, tables)
        if refused and not force:
            return Promotion("", False, None, None, str(current.version), data, refused)
        champion = evaluate_on(champion_model, tables, truth)[PROMOTION_METRIC]
    challenger = evaluate_on(challenger_model, tables, truth)[PROMOTION_METRIC]
    version = tracking.register(model_uri)
    wins = champion is None or challenger > champion
    if wins or force:
        client.set_registered_model_alias(
            tracking.REGISTERED_NAME, tracking.CHAMPION, version.version
        )
    return Promotion(
        version=str(version.version),
        promoted=wins or force,
        challenger=challenger,
        champion=champion,
        champion_version=None if current is None else str(current.version),
        data=data,
    )
