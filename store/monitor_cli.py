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

from store.cli import Db, _actor, _engine

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


def _model(reference: str, tracking_uri: str | None):
    from training.bundle import BundleError, load_bundle

    try:
        return load_bundle(reference, tracking_uri)
    except (BundleError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def echo_pass(result: dict[str, Any]) -> None:
    """The pass on one screen: the estimate, the drift findings and the alerts."""
    recent = result["performance"]["recent"]
    typer.echo(f"as of {result['as_of']} (outcomes since {result['reference_end']} watched)")
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
    result = monitor(_model(model, tracking_uri), tables, pd.Timestamp(as_of), watch_days)
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


def register(app: typer.Typer) -> None:
    app.command("monitor")(monitor_command)
