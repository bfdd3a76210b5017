"""The ``claimrisk`` command: one CLI over data, training and serving.

It lives in ``serving`` because dependencies point one way (serving → training → features):
the root can import every layer's commands, no layer imports the root.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from features import cli as features_cli
from training import cli as training_cli

app = typer.Typer(
    name="claimrisk",
    help="Predict, explain and recover US healthcare claim denials.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
features_cli.register(app)
training_cli.register(app)


@app.command("serve")
def serve_command(
    model: Annotated[
        str | None,
        typer.Option(help="Bundle folder or models:/claimrisk@champion (env CLAIMRISK_MODEL)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    tracking_uri: Annotated[str | None, typer.Option(help="MLflow tracking URI.")] = None,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Accept requests without an API key (local demo).")
    ] = False,
) -> None:
    """Serve the scoring and worklist API (uvicorn). Keys: CLAIMRISK_API_KEYS=k1,k2."""
    import os

    import uvicorn

    if model:
        os.environ["CLAIMRISK_MODEL"] = model
    if tracking_uri:
        os.environ["CLAIMRISK_TRACKING_URI"] = tracking_uri
    if no_auth:
        os.environ["CLAIMRISK_ALLOW_ANONYMOUS"] = "true"
    from serving.settings import Settings

    settings = Settings()
    if not settings.keys() and not settings.allow_anonymous:
        typer.echo(
            "error: no API keys. Set CLAIMRISK_API_KEYS=key1,key2, or pass --no-auth for a "
            "local demo.",
            err=True,
        )
        raise typer.Exit(1)
    uvicorn.run(
        "serving.asgi:app",
        host=host,
        port=port,
        workers=workers,
        factory=False,
        log_level="info",
        access_log=False,
    )


@app.command("example")
def example_command(
    kind: Annotated[str, typer.Argument(help="score or rank")] = "score",
) -> None:
    """Print a complete, valid example request body (pipe it to curl -d @-)."""
    import json

    from serving import examples

    bodies = {"score": examples.SCORE_REQUEST, "rank": examples.RANK_REQUEST}
    if kind not in bodies:
        typer.echo(f"error: unknown example {kind!r}: use score or rank", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(bodies[kind], indent=2))


@app.command("score")
def score_command(
    model: Annotated[str, typer.Option(help="Bundle folder or models:/ URI.")],
    input: Annotated[Path, typer.Option(help="Claims, one row per line (parquet or csv).")],
    out: Annotated[Path, typer.Option(help="Scores parquet, one row per claim.")],
    tracking_uri: Annotated[str | None, typer.Option(help="MLflow tracking URI.")] = None,
) -> None:
    """Score a file of claims offline, with the same code as the API (no explanations)."""
    from serving.offline import score_file

    try:
        n = score_file(model, input, out, tracking_uri)
    except (FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"wrote {out}: {n:,} claims scored")


@app.command("rank")
def rank_command(
    model: Annotated[str, typer.Option(help="Bundle folder or models:/ URI.")],
    denials: Annotated[
        Path,
        typer.Option(
            help="Open denials, one row per claim line plus carc_codes ('|'-joined), "
            "denied_amount, denial_date (parquet or csv)."
        ),
    ],
    as_of: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="Day the queue is worked.")],
    out: Annotated[Path, typer.Option(help="Ranked parquet, best first.")],
    capacity: Annotated[int | None, typer.Option(help="Items the team can work.")] = None,
    tracking_uri: Annotated[str | None, typer.Option(help="MLflow tracking URI.")] = None,
) -> None:
    """Rank a file of open denials offline, with the same ordering as the API."""
    from serving.offline import rank_file

    try:
        n = rank_file(model, denials, as_of.date(), out, capacity, tracking_uri)
    except (FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"wrote {out}: {n:,} denials ranked")


if __name__ == "__main__":  # pragma: no cover
    app()
