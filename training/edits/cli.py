"""``claimrisk edits mine`` (history → an edit book) and ``claimrisk edits show`` (read it back)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

edits_app = typer.Typer(help="Payer edits mined from history: readable rules a person reviews.")


@edits_app.command("mine")
def mine_command(
    data: Annotated[Path, typer.Option(help="Dataset folder (contract tables with outcomes).")],
    out: Annotated[Path, typer.Option(help="The edit book to write (YAML).")] = Path("edits.yaml"),
    min_claims: Annotated[int, typer.Option(help="Fewest claims an edit rests on.")] = 30,
    min_lift: Annotated[float, typer.Option(help="How many times the rest's rate.")] = 3.0,
) -> None:
    """Find payer × procedure × condition rules in the denial history, ranked by dollars at
    stake, each with its rate, support, lift, the CARCs seen and since when."""
    from features.cli import dataset_or_exit
    from training.edits.book import EditBook
    from training.edits.mine import Thresholds, mine

    began = time.perf_counter()
    tables = dataset_or_exit(data)
    book = EditBook.from_mined(mine(tables, Thresholds(min_claims=min_claims, min_lift=min_lift)))
    try:
        book.save(out, mined_from=str(data))
    except OSError as exc:
        typer.echo(f"error: cannot write {out}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    took = time.perf_counter() - began
    typer.echo(f"wrote {out}: {len(book.edits)} edits from {len(tables['claims']):,} claims "
               f"({took:.1f} s); review them, then score with --edits {out}")  # fmt: skip
    for says in book.edits["says"].head(10):
        typer.echo(f"  {says}")


@edits_app.command("show")
def show_command(
    book: Annotated[Path, typer.Argument(help="An edit book (YAML).")],
    top: Annotated[int, typer.Option(help="Edits to show.")] = 20,
) -> None:
    """The enabled edits of a book, as sentences, with their review state."""
    from training.edits.book import EditBook, EditsError

    try:
        loaded = EditBook.load(book)
    except EditsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    enabled = loaded.enabled
    typer.echo(f"{len(enabled)} of {len(loaded.edits)} edits enabled")
    for row in enabled.head(top).itertuples():
        typer.echo(f"  [{row.review}] {row.says}  (${row.dollars_at_stake:,.0f} at stake)")


def register(app: typer.Typer) -> None:
    app.add_typer(edits_app, name="edits")
