"""``claimrisk monitor``: payer-behaviour alerts and performance before outcomes, as of a day."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer


def monitor_command(
    model: Annotated[str, typer.Option(help="Bundle folder or models:/ URI.")],
    data: Annotated[Path, typer.Option(help="Dataset folder with claims and their remits.")],
    as_of: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="Day of the pass.")],
    watch_days: Annotated[
        int, typer.Option(min=7, help="Days of outcomes watched against the earlier ones.")
    ] = 90,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the pass as JSON.")] = None,
    tracking_uri: Annotated[str | None, typer.Option(help="MLflow tracking URI.")] = None,
) -> None:
    """Alert when a payer starts denying a procedure or a reason more (with when it started and
    the evidence), and estimate the model's ROC AUC on recent claims before their outcomes."""
    from features.cli import dataset_or_exit
    from training.bundle import BundleError, load_bundle
    from training.monitor.report import monitor

    tables = dataset_or_exit(data)
    try:
        loaded = load_bundle(model, tracking_uri)
    except (BundleError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    result = monitor(loaded, tables, pd.Timestamp(as_of), watch_days)
    perf = result["performance"]
    typer.echo(f"as of {result['as_of']} (outcomes since {result['reference_end']} watched)")
    if perf.get("claims"):
        realised = perf.get("realised_roc_auc")
        typer.echo(
            f"recent claims {perf['claims']:,}: estimated ROC AUC {perf['estimated_roc_auc']:.3f}"
            + (f", realised {realised:.3f} on {perf['decided']:,} decided" if realised else "")
            + f"; expected denial rate {perf['estimated_denial_rate']:.1%}"
        )
    typer.echo(f"{len(result['alerts'])} alert(s)")
    for alert in result["alerts"][:20]:
        typer.echo(f"  {alert['detected_on']}  {alert['says']}")
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2))
        typer.echo(f"wrote {json_out}")


def register(app: typer.Typer) -> None:
    app.command("monitor")(monitor_command)
