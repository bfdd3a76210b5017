"""Training commands: ``train``, ``evaluate``, ``promote``, ``tune``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from features import engine_options as eo
from features.io import DatasetError

if TYPE_CHECKING:
    from training.run import TrainResult

TrackingUri = Annotated[
    str | None,
    typer.Option(help="MLflow tracking URI (default: SQLite store in ./mlruns, no server)."),
]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def train_command(
    data: Annotated[Path, typer.Option(help="Dataset folder (contract tables).")],
    out: Annotated[
        Path | None, typer.Option(help="Bundle folder (default models/<data name>).")
    ] = None,
    tracking_uri: TrackingUri = None,
    experiment: Annotated[str, typer.Option(help="MLflow experiment name.")] = "claimrisk",
    params: Annotated[
        Path | None, typer.Option(help="JSON of LightGBM params per model (from `tune`).")
    ] = None,
    engine: eo.EngineOption = eo.Engine.pandas,
    scheduler: eo.SchedulerOption = None,
    workers: eo.WorkersOption = eo.DEFAULT_WORKERS,
    memory_limit: eo.MemoryOption = "auto",
    spill_dir: eo.SpillOption = None,
    rounds: Annotated[
        int,
        typer.Option(
            min=10,
            help="With --engine dask: trees the denial and reason models boost at most (they keep "
            "the best validation round; lightgbm.dask cannot stop early).",
        ),
    ] = 1000,
) -> None:
    """Build features, fit the denial, category, recovery and amount models, evaluate, report,
    log to MLflow."""
    from features.partitions import is_partitioned
    from training.run import train

    if is_partitioned(data) and engine is eo.Engine.pandas:
        _fail(f"{data} is partitioned by month: train it with --engine dask (docs/scale.md)")
    if engine is eo.Engine.dask and not is_partitioned(data):
        _fail(
            f"--engine dask reads a dataset partitioned by month; {data} is one folder "
            "(write one with claimrisk partition, or claimrisk generate --partitioned)"
        )

    overrides = None
    if params is not None:
        try:
            overrides = json.loads(params.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            _fail(f'--params {params}: {exc}; expected JSON like {{"denial": {{...}}}}')
    folder = out or Path("models") / data.name
    try:
        with eo.cluster_for(engine, scheduler, workers, memory_limit, spill_dir) as client:
            result = train(
                data, folder, tracking_uri, experiment, overrides, typer.echo, client, rounds
            )
    except (DatasetError, FileNotFoundError) as exc:
        _fail(str(exc))
    for text in _trained_lines(result, folder):
        typer.echo(text)
    typer.echo(f"next: claimrisk promote --model {folder}")


def _trained_lines(result: TrainResult, folder: Path) -> list[str]:
    """What ``train`` prints when it is done: windows, rows, trees, the headline metrics
    beside the oracle's, where the report, the MLflow run and the model are."""
    m = result.metrics
    meta = result.model.metadata

    def line(label: str, key: str) -> str:
        oracle = m.get(key.replace(".", ".oracle_", 1))
        extra = f"   oracle {oracle:.4f}" if oracle is not None else ""
        return f"  {label:<32} {m.get(key, float('nan')):.4f}{extra}"

    w = meta["windows"]
    out = ["", f"claimrisk model {folder}  ({result.seconds:.0f} s)"]
    out.append(
        f"  windows  train {w['start']} .. {w['valid_start']}, valid .. {w['report_start']}, "
        f"report .. {w['end']}"
    )
    out.append("  rows     " + ", ".join(f"{k} {v:,}" for k, v in meta["rows"].items()))
    out.append("  trees    " + ", ".join(f"{k} {v}" for k, v in meta["trees"].items()))
    for label, key in (
        ("denial ROC AUC", "denial.roc_auc"),
        ("denial ECE", "denial.ece"),
        ("denial recall @10% flagged", "denial.recall_at_10pct_flagged"),
        ("category top-1 accuracy", "category.top1_accuracy"),
        ("recovery ROC AUC", "recovery.roc_auc"),
        ("worklist value @20% items", "worklist.captured_value_at_20pct"),
    ):
        out.append(line(label, key))
    if "worklist.fifo_captured_value_at_20pct" in m:
        out.append(
            f"  {'  oldest-first worklist':<32} {m['worklist.fifo_captured_value_at_20pct']:.4f}"
        )
    logistic = m.get("denial.baseline_logistic.roc_auc", float("nan"))
    out.append(f"  {'logistic baseline ROC AUC':<32} {logistic:.4f}")
    out.append(f"  report   {folder / 'report.md'}")
    out.append(f"  MLflow   run {result.run_id}  ({meta['tracking_uri']})")
    out.append(f"  model    {result.model_uri}")
    return out


def evaluate_command(
    model: Annotated[str, typer.Option(help="Bundle folder or models:/claimrisk@champion.")],
    data: Annotated[Path, typer.Option(help="Dataset folder to evaluate on (recent window).")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write metrics JSON here.")
    ] = None,
    tracking_uri: TrackingUri = None,
) -> None:
    """Metrics of a trained model on the most recent window of a dataset (flat JSON keys)."""
    from features.io import load_dataset, read_truth
    from training import tracking
    from training.bundle import BundleError, load_bundle
    from training.run import evaluate_on

    if model.startswith(("models:/", "runs:/")):
        tracking.use_store(tracking_uri)
    try:
        bundle = load_bundle(model, tracking_uri)
        tables, _ = load_dataset(data)
    except (BundleError, DatasetError, FileNotFoundError) as exc:
        _fail(str(exc))
    metrics = evaluate_on(bundle, tables, read_truth(data))
    text = json.dumps(metrics, indent=2, sort_keys=True)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(text)
        typer.echo(f"wrote {json_out} ({len(metrics)} metrics)")
    for key in sorted(k for k in metrics if k.count(".") == 1):
        typer.echo(f"{key:<48} {metrics[key]:.4f}")


def promote_command(
    model: Annotated[str, typer.Option(help="Model URI printed by `train`, or its bundle folder.")],
    data: Annotated[
        Path | None,
        typer.Option(help="Judge on this dataset's recent window (default: the challenger's own)."),
    ] = None,
    tracking_uri: TrackingUri = None,
    force: Annotated[
        bool, typer.Option(help="Move the champion alias even if not better or not comparable.")
    ] = False,
) -> None:
    """Register a model as `claimrisk`; make it champion only if it beats the current one on the
    same population (the recent window of the data the challenger was trained on)."""
    from training.run import PROMOTION_METRIC, promote

    try:
        result = promote(model, data, tracking_uri, force)
    except (DatasetError, FileNotFoundError) as exc:
        _fail(str(exc))
    if result.refused:
        typer.echo(f"not promoted, nothing changed: {result.refused} (--force to override)")
        raise typer.Exit(1)
    champion = (
        "no champion yet"
        if result.champion is None
        else f"champion v{result.champion_version} {result.champion:.4f}"
    )
    typer.echo(
        f"{PROMOTION_METRIC} on the recent window of {result.data}: challenger "
        f"v{result.version} {result.challenger:.4f} vs {champion}"
    )
    if result.promoted:
        typer.echo(f"models:/claimrisk@champion -> version {result.version}")
    else:
        typer.echo("not promoted: the champion is at least as good (use --force to override)")


def tune_command(
    data: Annotated[Path, typer.Option(help="Dataset folder.")],
    trials: Annotated[int, typer.Option(help="Optuna trials.")] = 20,
    out: Annotated[Path, typer.Option(help="Where to write the best params.")] = Path(
        "models/params.json"
    ),
) -> None:
    """Search denial-model hyperparameters on the validation window (Optuna)."""
    from features.io import load_dataset
    from features.pipeline import build_training_matrix
    from training.tune import tune_denial

    try:
        tables, _ = load_dataset(data)
    except (DatasetError, FileNotFoundError) as exc:
        _fail(str(exc))
    typer.echo(f"searching {trials} trials on the validation window of {data} ...")
    matrix, _ = build_training_matrix(tables)
    best, loss, default = tune_denial(matrix, trials)
    typer.echo(f"validation log loss: defaults {default:.5f}, best of {trials} trials {loss:.5f}")
    if loss >= default:
        typer.echo("no trial beat the defaults on the validation window: nothing written")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"denial": best}, indent=2))
    typer.echo(f"wrote {out}; use: claimrisk train --data {data} --params {out}")


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
    app.command("evaluate")(evaluate_command)
    app.command("promote")(promote_command)
    app.command("tune")(tune_command)
