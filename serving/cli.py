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
from features import engine_options as eo
from features.flat import cli as flat_cli
from store import cli as store_cli
from store import monitor_cli
from training import cli as training_cli
from training.edits import cli as edits_cli

app = typer.Typer(
    name="claimrisk",
    help="Predict, explain and recover US healthcare claim denials.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
features_cli.register(app)
flat_cli.register(app)
training_cli.register(app)
edits_cli.register(app)
monitor_cli.register(app)
store_cli.register(app)


def _version(show: bool) -> None:
    if show:
        from importlib.metadata import version

        typer.echo(f"claimrisk {version('claimrisk')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Predict, explain and recover US healthcare claim denials."""


#: Connection hygiene: idle keep-alive connections close after this many seconds, headers are
#: bounded in size, and connections beyond the limit get 503 rather than piling up.
KEEP_ALIVE_SECONDS = 5
MAX_HEADER_BYTES = 16 * 1024
MAX_CONNECTIONS = 256


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
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="The store (users, worklist, KPIs, scores): env CLAIMRISK_DATABASE_URL."
        ),
    ] = None,
    edits: Annotated[
        Path | None,
        typer.Option(help="An edit book (`claimrisk edits mine`): scores list the edits tripped."),
    ] = None,
) -> None:
    """Serve the scoring and worklist API (uvicorn). Keys: CLAIMRISK_API_KEYS=k1,k2; admin
    keys (reload) apart: CLAIMRISK_ADMIN_KEYS."""
    import os

    import uvicorn
    from pydantic import ValidationError

    from serving.app import create_app
    from serving.settings import Settings

    given = {
        "model": model,
        "tracking_uri": tracking_uri,
        "allow_anonymous": no_auth or None,
        "database_url": db,
        "edits": edits,
    }
    given = {k: v for k, v in given.items() if v is not None}
    try:
        settings = Settings(**given)
    except ValidationError as exc:
        typer.echo(f"error: {exc.errors()[0]['msg'].removeprefix('Value error, ')}", err=True)
        raise typer.Exit(1) from None
    hygiene = {
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "limit_concurrency": MAX_CONNECTIONS,
        "log_level": "info",
        "access_log": False,
    }
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, **hygiene)
        return
    # Several workers are separate processes that build the app from CLAIMRISK_* themselves.
    for k, v in given.items():
        os.environ[f"CLAIMRISK_{k.upper()}"] = str(v)
    uvicorn.run(
        "serving.app:create_app", factory=True, host=host, port=port, workers=workers, **hygiene
    )


@app.command("example")
def example_command(
    kind: Annotated[str, typer.Argument(help="score or rank")] = "score",
) -> None:
    """Print a complete, valid example request body (pipe it to curl -d @-)."""
    import json

    from training import examples

    bodies = {"score": examples.SCORE_REQUEST, "rank": examples.RANK_REQUEST}
    if kind not in bodies:
        typer.echo(f"error: unknown example {kind!r}: use score or rank", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(bodies[kind], indent=2))


Explain = Annotated[
    str, typer.Option(help="Which claims get factors and actions: none, flagged or all.")
]
SkipInvalid = Annotated[
    bool,
    typer.Option(
        "--skip-invalid",
        help="Exit 0 even when claims were rejected (they are still listed in the rejects file).",
    ),
]


def _one_source(file: Path | None, data: Path | None, flag: str) -> Path:
    if (file is None) == (data is None):
        typer.echo(f"error: give either {flag} FILE or --data DIR (one of them)", err=True)
        raise typer.Exit(2)
    return file or data  # type: ignore[return-value]


def _report(out: Path, outcome, noun: str, skip_invalid: bool) -> None:
    typer.echo(f"wrote {out}: {outcome.written:,} {noun}")
    if outcome.rejected:
        typer.echo(
            f"{outcome.rejected:,} claim(s) rejected, not scored: see {outcome.rejects_file} "
            "(claim, field, rule, value, fix)",
            err=True,
        )
        if not skip_invalid:
            raise typer.Exit(1)


@app.command("score")
def score_command(
    model: Annotated[str, typer.Option(help="Bundle folder or models:/ URI.")],
    out: Annotated[Path, typer.Option(help="Scores, one row per claim (.parquet, .csv, .jsonl).")],
    input: Annotated[
        Path | None, typer.Option(help="Claims, one row per line (.parquet, .csv, .jsonl).")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="Or a dataset folder (as generate, ingest and import write it)."),
    ] = None,
    x12: Annotated[
        list[Path] | None,
        typer.Option(help="Or 837 files before submission (repeat the option): a row per CLM."),
    ] = None,
    explain: Explain = "none",
    skip_invalid: SkipInvalid = False,
    tracking_uri: Annotated[str | None, typer.Option(help="MLflow tracking URI.")] = None,
    edits: Annotated[
        Path | None,
        typer.Option(help="An edit book (`claimrisk edits mine`): list the edits each trips."),
    ] = None,
    engine: eo.EngineOption = eo.Engine.pandas,
    scheduler: eo.SchedulerOption = None,
    workers: eo.WorkersOption = eo.DEFAULT_WORKERS,
    memory_limit: eo.MemoryOption = "auto",
    spill_dir: eo.SpillOption = None,
) -> None:
    """Score a file of claims offline through the same path as the API. Claims that break the
    contract, or could not be read from an 837, are written to OUT's .rejects.csv, and the exit
    status is 1 unless --skip-invalid. A dataset partitioned by month is scored month by month
    (--engine dask: on a cluster) into OUT/months/."""
    from features.partitions import is_partitioned
    from serving.offline import score_file, score_x12_files
    from training.bundle import BundleError
    from training.edits.book import EditBook, EditsError

    if x12 and (input or data):
        typer.echo("error: give one of --input FILE, --data DIR or --x12 FILE...", err=True)
        raise typer.Exit(2)
    if (data and is_partitioned(data)) or engine is eo.Engine.dask:
        if data is None or not is_partitioned(data) or explain != "none" or edits:
            typer.echo(
                "error: month by month (--engine dask) scores a partitioned --data folder, "
                "without --explain or --edits",
                err=True,
            )
            raise typer.Exit(2)
        cluster = (engine, scheduler, workers, memory_limit, spill_dir)
        _score_by_month(model, data, out, tracking_uri, cluster, skip_invalid)
        return
    try:
        book = EditBook.load(edits) if edits else None
        if x12:
            outcome = score_x12_files(model, x12, out, explain, tracking_uri, book)
        else:
            source = _one_source(input, data, "--input")
            outcome = score_file(model, source, out, explain, tracking_uri, book)
    except (BundleError, EditsError, FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    _report(out, outcome, "claims scored", skip_invalid)


def _score_by_month(
    model: str,
    data: Path,
    out: Path,
    tracking_uri: str | None,
    cluster: tuple,
    skip_invalid: bool,
) -> None:
    from features.distributed import DaskRunner
    from features.io import DatasetError
    from features.monthly import EAGER
    from features.partitions import FolderMonths
    from serving.batch import score_months
    from serving.state import load
    from training.bundle import BundleError

    try:
        loaded = load(model, tracking_uri)
        with eo.cluster_for(*cluster) as client:
            runner = EAGER if client is None else DaskRunner(client)
            done = score_months(loaded.model, FolderMonths(data), out, loaded.version, runner)
    except (BundleError, DatasetError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    scored, rejected = sum(d.scored for d in done), sum(d.rejected for d in done)
    typer.echo(f"wrote {out}/months: {scored:,} claims scored in {len(done)} months")
    if rejected:
        typer.echo(f"{rejected:,} claims rejected: see {out}/months/*.rejects.csv", err=True)
        if not skip_invalid:
            raise typer.Exit(1)


@app.command("rank")
def rank_command(
    model: Annotated[str, typer.Option(help="Bundle folder or models:/ URI.")],
    as_of: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="Day the queue is worked.")],
    out: Annotated[Path, typer.Option(help="Ranked denials, best first (.parquet, .csv, .jsonl).")],
    denials: Annotated[
        Path | None,
        typer.Option(
            help="Open denials, one row per claim line plus carc_codes ('|'-joined), "
            "denied_amount, denial_date (.parquet, .csv, .jsonl)."
        ),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="Or a dataset folder: its open denials are built from the remits."),
    ] = None,
    capacity: Annotated[int | None, typer.Option(help="Items the team can work.")] = None,
    skip_invalid: SkipInvalid = False,
    tracking_uri: Annotated[str | None, typer.Option(help="MLflow tracking URI.")] = None,
) -> None:
    """Rank a file of open denials offline, with the same ordering as the API."""
    from serving.offline import rank_file
    from training.bundle import BundleError

    source = _one_source(denials, data, "--denials")
    try:
        outcome = rank_file(model, source, as_of.date(), out, capacity, tracking_uri)
    except (BundleError, FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    _report(out, outcome, "denials ranked", skip_invalid)


if __name__ == "__main__":  # pragma: no cover
    app()
