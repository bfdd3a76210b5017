"""``claimrisk db ...`` and ``claimrisk user add``: the store from the command line."""

from __future__ import annotations

import getpass
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import OperationalError

Db = Annotated[
    str | None,
    typer.Option(
        "--db", help="Store URL (default: CLAIMRISK_DATABASE_URL, else data/claimrisk.db)."
    ),
]
db_app = typer.Typer(help="The store: create or migrate it, load files into it, export it.")
user_app = typer.Typer(help="Users of the store and their API keys.")


def _engine(db: str | None, fresh: bool = False):
    """The store's engine; unless ``fresh``, refuse one whose schema is not the current one."""
    from store.db import engine, redacted
    from store.migrate import current, head

    eng = engine(db)
    try:
        at = current(eng)
    except OperationalError as exc:
        typer.echo(f"error: cannot reach the store at {redacted(db or '')}: {exc.orig}", err=True)
        raise typer.Exit(1) from None
    if not fresh and at != head():
        typer.echo(
            f"error: the store at {redacted(db or '')} is at schema {at or 'none'}, not "
            f"{head()}: run `claimrisk db upgrade` first",
            err=True,
        )
        raise typer.Exit(1)
    return eng


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@db_app.command("upgrade")
def upgrade_command(db: Db = None) -> None:
    """Create the store's schema, or migrate it to the current revision (Alembic)."""
    from store.db import redacted
    from store.migrate import upgrade

    before, after = upgrade(_engine(db, fresh=True))
    where = redacted(db or "")
    if before == after:
        typer.echo(f"{where}: schema already at {after}: nothing to do")
    else:
        typer.echo(f"{where}: schema {before or 'none'} → {after}")


@db_app.command("load")
def load_command(
    db: Db = None,
    x12: Annotated[
        list[Path] | None, typer.Option(help="837/835 files or folders (repeat the option).")
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="Or a dataset folder (contract tables).")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(help="Rank new worklist items with this model (bundle or models:/)."),
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="The day it is (default today): unworked items past their deadline expire.",
        ),
    ] = None,
) -> None:
    """Load X12 files or a dataset folder, incrementally: what is stored already changes nothing
    (and is said so); replacements supersede, reversals undo, denials join the worklist."""
    from features.io import DatasetError
    from store import worklist
    from store.load import load_folder, load_x12

    if (x12 is None) == (data is None):
        typer.echo("error: give --x12 PATH... or --data DIR (one of them)", err=True)
        raise typer.Exit(2)
    eng = _engine(db)
    try:
        report = load_x12(eng, x12, _actor()) if x12 else load_folder(eng, data, _actor())
    except DatasetError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    day = as_of.date() if as_of else date.today()
    with eng.begin() as conn:
        if as_of:  # a world lived in its own time (a demo, a back-test): the service follows it
            worklist.store_day(conn, day)
        expired = worklist.expire(conn, day)
    if expired:
        typer.echo(f"{expired:,} unworked items expired: their appeal deadline is before {day}")
    if model:
        _rank(eng, model, day)
    if report.rejected:
        raise typer.Exit(1)


def _bundle(reference: str, tracking_uri: str | None = None):
    """A bundle folder or models:/ URI, loaded the one trusted way, or exit 1 saying why."""
    from training.bundle import BundleError, load_bundle

    try:
        return load_bundle(reference, tracking_uri)
    except (BundleError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def _model(reference: str):
    """(bundle, version) of a bundle folder or models:/ URI."""
    from training.bundle import describe_version

    model = _bundle(reference)
    return model, describe_version(reference, model)


def _rank(eng, reference: str, day: date) -> None:
    from store import worklist

    model, version = _model(reference)
    with eng.begin() as conn:
        n = worklist.rank(conn, model, day, version)
    typer.echo(f"ranked {n:,} worklist items with {version}")


@db_app.command("export")
def export_command(
    out: Annotated[Path, typer.Option(help="Dataset folder to write (Parquet tables).")],
    db: Db = None,
) -> None:
    """Write the store's contract tables as a dataset folder: `claimrisk train --data OUT`."""
    from store.export import export

    counts = export(_engine(db), out)
    typer.echo(f"wrote {out}: " + ", ".join(f"{n:,} {t}" for t, n in counts.items()))


@user_app.command("add")
def user_add_command(
    name: Annotated[str, typer.Argument(help="The user's name (letters, digits, '.', '-').")],
    role: Annotated[str, typer.Option(help="biller, analyst, lead or admin.")],
    db: Db = None,
) -> None:
    """Create a user; its new API key is printed alone on the last line, and never again."""
    from store.users import UserError, add_user

    eng = _engine(db)
    try:
        with eng.begin() as conn:
            key = add_user(conn, name, role, _actor())
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"user {name} ({role}) created; its API key (shown once; store it now):")
    typer.echo(key)


@user_app.command("password")
def user_password_command(
    name: Annotated[str, typer.Argument(help="The user who signs in to the web app.")],
    db: Db = None,
) -> None:
    """Set a user's web sign-in password: asked twice at a terminal, else one line of stdin."""
    from store.sessions import set_password
    from store.users import UserError

    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {name}: ")
        if getpass.getpass("again: ") != password:
            typer.echo("error: the two passwords differ; nothing changed", err=True)
            raise typer.Exit(1)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        with _engine(db).begin() as conn:
            set_password(conn, name, password, _actor())
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"password set for {name}")


def replay_command(
    data: Annotated[Path, typer.Option(help="A generated world (with truth.parquet).")],
    model: Annotated[str, typer.Option(help="Bundle folder or models:/ URI.")],
    days: Annotated[int, typer.Option(help="Days to play: the world's last N.")] = 60,
    hours_per_day: Annotated[
        float, typer.Option(help="The team's daily capacity in hours of work.")
    ] = 8.0,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write totals here.")] = None,
    db: Db = None,
) -> None:
    """Play a generated world forward day by day through the real interfaces: 837s scored before
    submission, 835s loaded, the worklist worked by a team of fixed capacity following the
    model's ranking, against oldest-first and against the truth's own ranking."""
    import json

    from store.db import database_url
    from store.replay import replay, totals

    bundle, version = _model(model)
    rows = replay(data, database_url(db), days, bundle, version, hours_per_day, typer.echo)
    total = totals(rows)
    flagged = sum(r.flagged for r in rows)
    claims = sum(r.claims for r in rows)
    typer.echo(f"\n{days} days, {claims:,} claims scored before submission, {flagged:,} high risk")
    typer.echo(f"{'arm':<8} {'denied $':>12} {'recovered $':>12} {'expired':>8} {'hours':>8}")
    for arm, t in total.items():
        typer.echo(
            f"{arm:<8} {t['dollars_denied']:>12,.0f} {t['dollars_recovered']:>12,.0f} "
            f"{t['items_expired']:>8,} {t['hours_worked']:>8,.1f}"
        )
    model_arm, fifo, oracle = (total[a]["dollars_recovered"] for a in ("model", "fifo", "oracle"))
    if fifo and oracle:
        typer.echo(f"model ÷ fifo {model_arm / fifo:.2f}×; model ÷ oracle {model_arm / oracle:.0%}")
    if json_out:
        json_out.write_text(
            json.dumps(
                {
                    "days": days,
                    "claims": claims,
                    "flagged": flagged,
                    "hours_per_day": hours_per_day,
                    "arms": total,
                },
                indent=2,
            )
        )


def register(app: typer.Typer) -> None:
    app.command("replay")(replay_command)
    app.add_typer(db_app, name="db")
    app.add_typer(user_app, name="user")
