"""Reading a flat export: every cell as text, each row remembering its file and line.

Parsing belongs to ``features.flat.values``; here only the files are opened, so that a bad value
can later be named as ``claims.csv line 17 column 'DOS'``.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pandas as pd

from features.flat.mapping import MapError

#: Bookkeeping columns added to every row read (never a header of a real export).
FILE, LINE = "__file__", "__line__"
SUFFIXES = (".csv", ".txt", ".tsv", ".parquet")


class ExportError(ValueError):
    """An export file cannot be read or lacks a column the map names."""


def read_export(path: Path) -> pd.DataFrame:
    """One file as text cells (empty cells ``""``), with its file name and line per row."""
    if not path.is_file():
        raise ExportError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ExportError(
            f"{path}: cannot read {suffix or 'a file without a suffix'}; save the report as CSV "
            "(UTF-8, a header row) or Parquet"
        )
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
            frame = frame.astype(object).where(frame.notna(), "").astype(str)
            first_line = 1
        else:
            sep = "\t" if suffix == ".tsv" else None
            frame = pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                sep=sep,
                engine="python",
                encoding="utf-8-sig",
            )
            first_line = 2  # line 1 is the header
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ExportError(f"{path}: cannot be read ({exc}); save it again as UTF-8 CSV") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame[FILE] = path.name
    frame[LINE] = range(first_line, first_line + len(frame))
    return frame


def read_exports(paths: list[Path]) -> pd.DataFrame:
    """Several files of the same report (one per month, say), stacked; their headers must agree."""
    frames = [read_export(p) for p in paths]
    first = set(frames[0].columns)
    for path, frame in zip(paths[1:], frames[1:], strict=True):
        if set(frame.columns) != first:
            differ = sorted(first ^ set(frame.columns))
            raise ExportError(
                f"{path}: its columns differ from {paths[0].name}'s ({', '.join(differ)}); "
                "files imported together must be the same report"
            )
    return pd.concat(frames, ignore_index=True)


def require_headers(frame: pd.DataFrame, headers: dict[str, str], what: str) -> None:
    """Every header the map names is in the file; a miss names the map key and the nearest
    header the file does have."""
    present = [c for c in frame.columns if c not in (FILE, LINE)]
    for key, header in headers.items():
        if header in frame.columns:
            continue
        near = difflib.get_close_matches(header, present, n=1, cutoff=0.5)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise MapError(
            f"map {key}: the column {header!r} is not in {what} (its columns: "
            f"{', '.join(present)}){hint}"
        )
