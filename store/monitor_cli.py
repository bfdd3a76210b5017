"""``claimrisk monitor`` and ``claimrisk retrain``: the daily watch over the model and the payers.

They live with the store because they read from it (``--db``) as well as from files, and keep
each pass in it (``store/monitoring.py``) for the service's gauges and the monitoring page.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from store.cli import Db, _actor, _bundle, _engine

AsOf = Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="Day of the pass.")]
Data = Annotated[
    Path | None, typer.Option(help="Dataset folder with claims and their remits (or --db).")
]
WatchDays = Annotated[
    int, typer.Option(min=7, help="Days of outcomes watched against the earlier ones.")
]
TrackingUri = Annotated[str | None, typer.Option(help="MLflow tracking URI.")]


def _tables(data: Path | None, db: str | None) -> dict[str, pd.DataFrame]:
    """The contract tables from a dataset folder or from the store (exactly one of them)."""
    if (data is None) == (db is None):
        typer.echo("error: give either --data DIR or --db URL (the tables to watch)", err=True)
        raise typer.Exit(2)
    if data is not None:
        from features.cli import dataset_or_exit

        return dataset_or_exit(data)
    from store.export import read_tables

    return read_tables(_engine(db))


def echo_pass(result: dict[str, Any]) -> None:
    """The pass on one screen: the estimate, the drift findings and the alerts."""
    recent = result["performance"]["recent"]
    typer.echo(f"as of {result['as_of']} (outcomes since {result['reference_end']} watched)")
    for note in result.get("notes", []):
        typer.echo(f"note: {note}")
    if recent.get("claims"):
        realised = recent.get("realised_roc_auc")
        typer.echo(
            f"recent claims {recent['claims']:,}: estimated ROC AUC "
            f"{recent['estimated_roc_auc']:.3f}"
            + (f", realised {realised:.3f} on {recent['decided']:,} decided" if realised else "")
            + f"; expected denial rate {recent['estimated_denial_rate']:.1%}"
        )
    findings = result["drift"].get("findings", [])
    typer.echo(f"{len(findings)} drift finding(s) (PSI >= 0.1)")
    for f in findings[:10]:
        typer.echo(f"  {f['level']:<8} {f['psi']:.3f}  {f['scope']}: {f['what']}")
    typer.echo(f"{len(result['alerts'])} alert(s)")
    for alert in result["alerts"][:20]:
        typer.echo(f"  {alert['detected_on']}  {alert['says']}")


def monitor_command(
    model: Annotated[str, typer.Option(help="Bundle folder or models:/ URI.")],
    as_of: AsOf,
    data: Data = None,
    db: Db = None,
    watch_days: WatchDays = 90,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the pass as JSON.")] = None,
    html_out: Annotated[Path | None, typer.Option("--html", help="Write a readable page.")] = None,
    tracking_uri: TrackingUri = None,
) -> None:
    """Drift of recent claims against the training window, the model's ROC AUC estimated before
    outcomes arrive (beside the realised as they do), and alerts when a payer starts denying a
    procedure or a reason more. With --db the pass is also kept in the store."""
    from training.monitor.html import render
    from training.monitor.report import monitor

    tables = _tables(data, db)
    result = monitor(_bundle(model, tracking_uri), tables, pd.Timestamp(as_of), watch_days)
    echo_pass(result)
    if db is not None:
        from store.monitoring import save_run

        typer.echo(f"kept in the store as monitor run {save_run(_engine(db), result, _actor())}")
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2))
        typer.echo(f"wrote {json_out}")
    if html_out is not None:
        html_out.write_text(render(result))
        typer.echo(f"wrote {html_out}")


def retrain_command(
    as_of: AsOf,
    data: Data = None,
    db: Db = None,
    model: Annotated[
        str, typer.Option(help="The champion watched.")
    ] = "models:/claimrisk@champion",
    months: Annotated[
        int, typer.Option(min=3, help="Months of claims the challenger learns.")
    ] = 12,
    every_days: Annotated[
        int | None, typer.Option(min=1, help="Also retrain when the champion's data is this old.")
    ] = None,
    watch_days: WatchDays = 90,
    out: Annotated[Path | None, typer.Option(help="Challenger bundle folder.")] = None,
    tracking_uri: TrackingUri = None,
) -> None:
    """Run the monitoring pass; if it calls for a retrain (an alert, a major drift, realised
    ROC AUC below the estimate) or the schedule does, fit a challenger on the last --months as
    known on --as-of and promote it only through the gate. Says what triggered it."""
    from training.monitor.report import monitor
    from training.monitor.retrain import Retrain, overdue, triggers

    day = pd.Timestamp(as_of)
    tables = _tables(data, db)
    champion = _bundle(model, tracking_uri)
    result = monitor(champion, tables, day, watch_days)
    report = Retrain(
        f"{day:%Y-%m-%d}", triggers(result) + [r for r in [overdue(champion, day, every_days)] if r]
    )
    folder = out or Path("models") / f"retrain-{day:%Y-%m-%d}"
    if not report.triggered_by:
        typer.echo(f"no retrain: nothing in the pass as of {report.as_of} calls for one")
        return
    typer.echo(f"retraining: {len(report.triggered_by)} trigger(s)")
    for reason in report.triggered_by[:10]:
        typer.echo(f"  {reason}")
    _fit_and_gate(report, tables, day, months, folder, tracking_uri)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "retrain.json").write_text(json.dumps(report.as_dict(), indent=2))
    typer.echo(f"wrote {folder / 'retrain.json'}")
    if db is not None:
        from store import audit

        with _engine(db).begin() as conn:
            audit.record(
                conn, _actor(), "retrain", "model", report.model_uri, after=report.promotion
            )


def _fit_and_gate(
    report, tables, day: pd.Timestamp, months: int, folder: Path, tracking_uri
) -> None:
    """Write the window, train the challenger on it, and put it through the promotion gate."""
    from features.io import DatasetError
    from training.monitor.retrain import window_dataset
    from training.run import promote, train

    window = Path("data") / folder.name
    try:
        report.window = window_dataset(tables, day, months, window)
        trained = train(window, folder, tracking_uri, echo=typer.echo)
        gate = promote(trained.model_uri, window, tracking_uri)
    except (DatasetError, FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: retraining on {window} failed: {exc}", err=True)
        raise typer.Exit(1) from None
    report.data, report.model_uri = str(window), trained.model_uri
    report.promotion = {
        "version": gate.version,
        "promoted": gate.promoted,
        "challenger": gate.challenger,
        "champion": gate.champion,
        "champion_version": gate.champion_version,
        "refused": gate.refused,
    }
    verdict = (
        f"not promoted: {gate.refused}" if gate.refused
        else "promoted to champion" if gate.promoted
        else "not promoted: the champion is at least as good"
    )  # fmt: skip
    typer.echo(
        f"challenger v{gate.version} ({gate.challenger}) vs champion ({gate.champion}): {verdict}"
    )


def register(app: typer.Typer) -> None:
    app.command("monitor")(monitor_command)
    app.command("retrain")(retrain_command)
