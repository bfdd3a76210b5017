"""Read and write claimrisk datasets: one folder, one file per contract table.

A dataset folder holds ``<table>.parquet`` or ``<table>.csv`` for every table in
``features.contract.TABLES`` (and ``truth.parquet`` for synthetic data). Writing uses the
contract's Arrow schema, so column order and types are the same whoever wrote the folder, and the
bytes are the same for the same data (no timestamps or index metadata in the files).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from features.contract import TABLES, Table
from features.extras import extra_names
from features.validate import TABLE_LEVEL_RULES, Report, quarantine, validate_frames

Format = Literal["parquet", "csv"]


class DatasetError(Exception):
    """A dataset failed validation; ``report`` holds every problem found."""

    def __init__(self, report: Report, path: Path):
        self.report = report
        super().__init__(f"{path} is not a valid claimrisk dataset:\n{report.render()}")


def _to_arrow(frame: pd.DataFrame, table: Table) -> pa.Table:
    custom = extra_names(frame.columns) if table.name == "claims" else []
    extras = {c: pa.array(frame[c], from_pandas=True) for c in custom}
    frame = frame[table.columns]
    arrays = []
    for f in table.fields:
        column = frame[f.name]
        if f.kind == "date":
            column = column.astype("datetime64[s]")
            arr = pa.array(column, from_pandas=True).cast(pa.date32())
        else:
            arr = pa.array(column, type=f.arrow_type, from_pandas=True)
        arrays.append(arr)
    data = pa.Table.from_arrays(arrays, schema=table.arrow_schema())
    for name, arr in extras.items():  # custom features ride after the contract's columns
        data = data.append_column(name, arr)
    return data


def write_table(frame: pd.DataFrame, table: Table, path: Path) -> None:
    """Write one table in the format its suffix names (``.parquet`` or ``.csv``)."""
    data = _to_arrow(frame, table)
    if path.suffix == ".csv":
        pacsv.write_csv(data, path)
    else:
        pq.write_table(data, path, compression="zstd")


class TableWriter:
    """One table's Parquet file written a part at a time (a month drawn in chunks), so that no
    more than a part is ever in memory; closed with no part, it writes the table empty."""

    def __init__(self, table: Table, path: Path) -> None:
        self.table, self.path = table, path
        self._writer: pq.ParquetWriter | None = None

    def append(self, frame: pd.DataFrame) -> None:
        data = _to_arrow(frame, self.table)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, data.schema, compression="zstd")
        self._writer.write_table(data)

    def close(self) -> None:
        if self._writer is None:
            write_table(pd.DataFrame(columns=self.table.columns), self.table, self.path)
        else:
            self._writer.close()


def write_dataset(
    tables: dict[str, pd.DataFrame],
    out: Path,
    fmt: Format = "parquet",
    extra: dict[str, tuple[Table, pd.DataFrame]] | None = None,
) -> list[Path]:
    """Write every contract table (and any ``extra`` tables such as truth) to ``out``.

    An optional table (``Table.required``) that ``tables`` lacks is not written: the folder says
    what the data had, and a reader takes the absent table as empty."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in TABLES.items():
        if name not in tables and not table.required:
            continue
        path = out / f"{name}.{fmt}"
        write_table(tables[name], table, path)
        written.append(path)
    for name, (table, frame) in (extra or {}).items():
        path = out / f"{name}.{fmt}"
        write_table(frame, table, path)
        written.append(path)
    return written


def table_files(folder: Path, name: str) -> list[Path]:
    """Every file in ``folder`` that could hold table ``name`` (``.parquet``, ``.csv``)."""
    return [p for p in (folder / f"{name}.parquet", folder / f"{name}.csv") if p.exists()]


def find_table_file(folder: Path, name: str) -> Path | None:
    """The one file holding table ``name`` in ``folder``, or None."""
    found = table_files(folder, name)
    return found[0] if found else None


def read_raw(path: Path) -> pd.DataFrame:
    """Read a table file as it is, without typing it (validation does that).

    CSV columns are read as text so that a bad value is reported, not guessed at.
    """
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype="str", keep_default_na=False, na_values=[""])
    # Nullable integers stay integers (pandas would make a column with gaps float64), so that
    # validation sees the type the file was written with.
    frame = pq.read_table(path).to_pandas(date_as_object=False, types_mapper=_NULLABLE_INTS.get)
    frame.attrs["typed_file"] = True  # its columns inherit it: text here is stored as text
    return frame


_NULLABLE_INTS = {
    t: pd.Int64Dtype() for t in (pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8())
}


def read_folder(
    folder: Path,
) -> tuple[dict[str, pd.DataFrame], dict[str, str], dict[str, tuple[str, str]]]:
    """Read whichever contract tables ``folder`` holds.

    Returns (raw frames, file names, unreadable tables as ``(rule, complaint)``): a file that is
    not Parquet or CSV, an empty file, or two files for one table become reported problems, not a
    traceback and not a silent choice between them.
    """
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{folder} is not a folder; pass the folder that holds "
            "claims.parquet (or claims.csv) and the other tables"
        )
    raw, files, unreadable = {}, {}, {}
    for name in TABLES:
        found = table_files(folder, name)
        if not found:
            continue
        files[name] = found[0].name
        if len(found) > 1:
            files[name] = " and ".join(p.name for p in found)
            unreadable[name] = (
                "duplicate_file",
                "two files hold this table; remove one so that it is clear which is meant",
            )
            continue
        try:
            raw[name] = read_raw(found[0])
        except (
            pa.ArrowException,
            pd.errors.ParserError,
            pd.errors.EmptyDataError,
            UnicodeDecodeError,
            OSError,
        ) as exc:
            complaint = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
            unreadable[name] = ("unreadable_file", f"could not be read ({complaint})")
    return raw, files, unreadable


def validate_folder(folder: Path) -> tuple[dict[str, pd.DataFrame], Report]:
    """Validate a dataset folder; returns the typed tables and the report (never raises on data)."""
    raw, files, unreadable = read_folder(folder)
    typed, _, report = validate_frames(raw, files, unreadable)
    return typed, report


def load_dataset(
    folder: Path,
    on_error: Literal["raise", "quarantine"] = "raise",
) -> tuple[dict[str, pd.DataFrame], Report]:
    """Load and validate a dataset folder.

    With ``on_error="raise"`` any error raises :class:`DatasetError` carrying the full report.
    With ``"quarantine"`` the bad rows and the claims they belong to are removed and counted in
    ``report.quarantined``; only a table-level problem (a table or required column missing)
    still raises, since no row of that table could be trusted.
    """
    raw, files, unreadable = read_folder(folder)
    typed, bad, report = validate_frames(raw, files, unreadable)
    del raw
    # Arrow's allocator keeps the pages reading and validating used (about as much again as the
    # tables at a million claims); hand them back so the numpy work that follows can have them.
    pa.default_memory_pool().release_unused()
    table_level = [p for p in report.errors if p.rule in TABLE_LEVEL_RULES]
    if report.ok:
        return typed, report
    if on_error == "raise" or table_level:
        raise DatasetError(report, folder)
    return quarantine(typed, bad, report), report


def read_truth(folder: Path) -> pd.DataFrame | None:
    """The synthetic world's truth table, for evaluation only; ``None`` for real data."""
    path = find_table_file(folder, "truth")
    return None if path is None else read_raw(path)


#: The repository root (beside ``features/``): notebooks and tours name paths relative to it.
REPO_ROOT = Path(__file__).resolve().parents[1]


def resolve_path(given: str | Path) -> Path:
    """A user's path: as given from the current directory, else from the repository root.

    A path that exists in neither place is an error naming both, never a silent fallback
    (a mistyped path to real data must not quietly become synthetic data).
    """
    path = Path(given).expanduser()
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, REPO_ROOT / path]
    for candidate in candidates:
        if candidate.exists():
            return candidate.resolve()
    tried = " or ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"{given} does not exist (looked for {tried})")
