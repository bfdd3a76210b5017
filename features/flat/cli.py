"""``claimrisk import flat``: a practice's flat exports → a contract dataset, or a draft map."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Bring your own data: turn other formats into contract tables.")


@app.command("flat")
def flat_command(
    files: Annotated[
        list[Path], typer.Argument(help="The export's CSV/Parquet files (claims, and denials).")
    ],
    map_file: Annotated[
        Path | None, typer.Option("--map", help="The column map (YAML; docs/import.md).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Dataset folder to write.")] = None,
    suggest_map: Annotated[
        Path | None,
        typer.Option("--suggest-map", help="Write a draft map here from the headers and values."),
    ] = None,
) -> None:
    """Import flat PM-system exports with a column map (--map M --out DIR), or draft the map
    (--suggest-map M). Exit 0 when written; 1 when the export has problems (nothing written);
    2 when the map or a file cannot be used."""
    from features.flat.mapping import MapError, load_map
    from features.flat.read import ExportError

    try:
        if suggest_map is not None:
            _suggest(files, suggest_map)
            return
        if map_file is None or out is None:
            raise MapError("give --map MAP.yaml and --out DIR (or --suggest-map MAP.yaml first)")
        _import(files, load_map(map_file), out, map_file)
    except (MapError, ExportError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _suggest(files: list[Path], target: Path) -> None:
    from features.flat.read import read_export, read_exports
    from features.flat.suggest import render, suggest

    frames = [read_export(f) for f in files]
    first = set(frames[0].columns)
    claims = [f for f, frame in zip(files, frames, strict=True) if set(frame.columns) == first]
    others = [f for f in files if f not in claims]
    draft = suggest(read_exports(claims), read_exports(others) if others else None)
    target.write_text(render(draft, [f.name for f in files]), encoding="utf-8")
    typer.echo(
        f"wrote {target}: {len(draft.columns)} fields and {len(draft.outcome)} outcome columns "
        f"placed; {len(draft.unplaced_headers)} columns and {len(draft.unplaced_values)} values "
        "not placed (listed at its end). Check every line, then import with --map."
    )


def _import(files: list[Path], cmap, out: Path, map_file: Path) -> None:
    from features.flat.build import import_flat
    from features.flat.mapping import MapError
    from features.io import write_dataset

    if out.exists() and any(out.iterdir()):
        raise MapError(
            f"--out {out} is not empty; import into a new folder (an old table left beside the "
            "new ones would be read as part of them)"
        )
    imported = import_flat(files, cmap)
    typer.echo(imported.report.render())
    for note in imported.notes:
        typer.echo(f"note: {note}")
    if not imported.report.ok:
        typer.echo("nothing written: fix the export or the map (each problem above says how)")
        raise typer.Exit(1)
    write_dataset(imported.tables, out)
    if imported.unmatched_denials is not None and len(imported.unmatched_denials):
        imported.unmatched_denials.to_csv(out / "unmatched_denials.csv", index=False)
    provenance = {
        "map": str(map_file),
        "files": {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in files},
        "notes": imported.notes,
        "extras": imported.extras,
        "rows": imported.report.rows_read,
    }
    (out / "import.json").write_text(json.dumps(provenance, indent=2), encoding="utf-8")
    typer.echo(f"wrote {out}: the contract tables, and import.json (what was assumed)")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="import")
