"""Datasets partitioned by submission month: what data too big for one frame is kept as.

A partitioned dataset is a folder with the payers and one folder per month::

    payers.parquet
    months/2024-01/claims.parquet      claims submitted in January 2024
                   claim_lines.parquet  their lines
                   remits.parquet       their remits (of any date), adjustments, remarks, appeals
                   eligibility.parquet  the eligibility responses *checked* in January 2024
                   truth.parquet        (synthetic data only)

Everything about a claim is in its submission month, so a month is validated and labelled on its
own; what crosses months (history, the latest eligibility response) is carried forward by
``features.monthly``. Eligibility responses are kept by the month they were checked in because
that is when they become known.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from features.contract import TABLES, TRUTH
from features.io import DatasetError, TableWriter, read_raw, write_table
from features.validate import Report, validate_frames

MONTHS = "months"
#: The tables that follow their claim into its submission month.
BY_CLAIM = ("claim_lines", "remits", "remit_adjustments", "remit_remarks", "appeals", "truth")


def month_names(dates: pd.Series) -> np.ndarray:
    """``YYYY-MM`` of each date."""
    return dates.dt.strftime("%Y-%m").to_numpy(dtype=object)


def split_by_month(
    tables: dict[str, pd.DataFrame], truth: pd.DataFrame | None = None
) -> dict[str, dict[str, pd.DataFrame]]:
    """Month → its tables (no payers: they are shared). Rows keep their order within a month,
    and every month holds every table given (empty where the month has none of its rows).

    A row whose claim is not among the claims has no month; that is an error naming the table
    (validate the dataset first: ``claimrisk validate`` reports such rows)."""
    claims = tables["claims"]
    claim_month = pd.Series(month_names(claims["submission_date"]), index=claims["claim_id"])
    parts = {"claims": claims, **{n: tables[n] for n in BY_CLAIM if n in tables}}
    if truth is not None:
        parts["truth"] = truth
    out: dict[str, dict[str, pd.DataFrame]] = {}
    for name, frame in parts.items():
        month = claim_month.reindex(frame["claim_id"]).to_numpy()
        if pd.isna(month).any():
            orphan = frame["claim_id"][pd.isna(month)].iloc[0]
            raise ValueError(
                f"{name}: claim {orphan} is not among the claims, so it has no submission month; "
                "run claimrisk validate on the dataset and fix what it reports"
            )
        for m, rows in frame.groupby(month, sort=True):
            out.setdefault(str(m), {})[name] = rows.reset_index(drop=True)
    if "eligibility" in tables:
        responses = tables["eligibility"]
        for m, rows in responses.groupby(month_names(responses["checked_date"]), sort=True):
            out.setdefault(str(m), {})["eligibility"] = rows.reset_index(drop=True)
    # every month holds every table (empty where it has no rows): a month of early eligibility
    # checks has no claims
    every = {**parts, **({"eligibility": tables["eligibility"]} if "eligibility" in tables else {})}
    return {
        m: {
            name: tables_of[name] if name in tables_of else frame.iloc[:0]
            for name, frame in every.items()
        }
        for m, tables_of in sorted(out.items())
    }


def write_partitioned(
    tables: dict[str, pd.DataFrame], out: Path, truth: pd.DataFrame | None = None
) -> list[str]:
    """Write ``tables`` as a partitioned dataset under ``out``; returns the months written."""
    out.mkdir(parents=True, exist_ok=True)
    write_table(tables["payers"], TABLES["payers"], out / "payers.parquet")
    by_month = split_by_month(tables, truth)
    for month, parts in by_month.items():
        write_month(out, month, parts)
    return list(by_month)


class MonthWriter:
    """One month's tables written a part at a time (``with MonthWriter(...) as w: w.append``).
    A table the month lacks is written empty, so that every month folder holds the same files."""

    def __init__(self, out: Path, month: str, truth: bool = False) -> None:
        folder = out / MONTHS / month
        folder.mkdir(parents=True, exist_ok=True)
        names = [n for n in TABLES if n != "payers"] + (["truth"] if truth else [])
        self.writers = {
            n: TableWriter(TRUTH if n == "truth" else TABLES[n], folder / f"{n}.parquet")
            for n in names
        }

    def append(self, parts: dict[str, pd.DataFrame]) -> None:
        for name, frame in parts.items():
            self.writers[name].append(frame)

    def __enter__(self) -> MonthWriter:
        return self

    def __exit__(self, *_: object) -> None:
        for writer in self.writers.values():
            writer.close()


def write_month(out: Path, month: str, parts: dict[str, pd.DataFrame]) -> None:
    """Write one month's tables (those it lacks empty)."""
    with MonthWriter(out, month, truth="truth" in parts) as writer:
        writer.append(parts)


def is_partitioned(folder: Path) -> bool:
    return (folder / MONTHS).is_dir()


def months_of(folder: Path) -> list[str]:
    """The months of a partitioned dataset, in order."""
    if not is_partitioned(folder):
        raise FileNotFoundError(
            f"{folder} has no {MONTHS}/ folder: it is not a partitioned dataset; write one with "
            "claimrisk generate --partitioned"
        )
    return sorted(p.name for p in (folder / MONTHS).iterdir() if p.is_dir())


def load_month(
    folder: Path, month: str, only: tuple[str, ...] | None = None
) -> dict[str, pd.DataFrame]:
    """One month's tables with the payers, validated against the contract (raises
    :class:`DatasetError` naming the month's files). ``only``: read just these tables."""
    where = folder / MONTHS / month
    raw = {"payers": read_raw(folder / "payers.parquet")}
    files = {"payers": "payers.parquet"}
    for name in TABLES:
        path = where / f"{name}.parquet"
        if name != "payers" and path.exists() and (only is None or name in only):
            raw[name] = read_raw(path)
            files[name] = f"{MONTHS}/{month}/{name}.parquet"
    typed, _, report = validate_frames(raw, files)
    if only is not None:  # the tables not asked for are absent, not missing
        report.problems = [
            p for p in report.problems if not (p.rule == "missing_table" and p.table not in only)
        ]
    if not report.ok:
        raise DatasetError(report, where)
    return typed


def read_month(
    folder: Path, month: str, only: tuple[str, ...] | None = None
) -> dict[str, pd.DataFrame]:
    """One month's tables with the payers, typed as the contract says, without checking them
    again: for a month :func:`load_month` has validated (``FolderMonths.check``). The files were
    written with the contract's Arrow schema, so this is the typed frames validation returns."""
    where = folder / MONTHS / month
    out = {"payers": _typed(folder / "payers.parquet", "payers")}
    for name in TABLES:
        path = where / f"{name}.parquet"
        if name != "payers" and path.exists() and (only is None or name in only):
            out[name] = _typed(path, name)
    return out


def _typed(path: Path, name: str) -> pd.DataFrame:
    frame = pq.read_table(path).to_pandas(date_as_object=False)
    return frame.astype(TABLES[name].dtypes())


@dataclass(frozen=True)
class FolderMonths:
    """A partitioned dataset on disk, as ``features.monthly`` reads it (picklable: a Dask task
    carries it to the worker, which reads the month itself).

    ``check`` validates a month against the contract once; every later read of it is a typed
    read (validating a month costs several times reading it, and the plan reads each four times).
    """

    folder: Path

    def months(self) -> list[str]:
        return months_of(self.folder)

    def check(self, month: str) -> None:
        """Raise :class:`DatasetError` with the month's report if it breaks the contract."""
        load_month(self.folder, month)

    def report(self, month: str) -> Report:
        """The month's validation report (``claimrisk validate``)."""
        try:
            load_month(self.folder, month)
        except DatasetError as exc:
            return exc.report
        return Report(rows_read={"claims": self.claim_count(month)})

    def payers(self) -> pd.DataFrame:
        return read_month(self.folder, self.months()[0], only=())["payers"]

    def __call__(self, month: str) -> dict[str, pd.DataFrame]:
        return read_month(self.folder, month)

    def responses(self, month: str) -> dict[str, pd.DataFrame]:
        """The month's eligibility responses alone (what carrying them forward reads)."""
        return read_month(self.folder, month, only=("eligibility",))

    def claim_count(self, month: str) -> int:
        return pq.read_metadata(self.folder / MONTHS / month / "claims.parquet").num_rows


@dataclass(frozen=True)
class FrameMonths:
    """Tables in memory split by month (``split_by_month``), read the same way."""

    payer_table: pd.DataFrame
    parts: dict[str, dict[str, pd.DataFrame]]

    @classmethod
    def of(cls, tables: dict[str, pd.DataFrame]) -> FrameMonths:
        return cls(tables["payers"], split_by_month(tables))

    def months(self) -> list[str]:
        return list(self.parts)

    def check(self, month: str) -> None:
        """Nothing to do: frames in memory were typed (validated) before they were split."""

    def payers(self) -> pd.DataFrame:
        return self.payer_table

    def __call__(self, month: str) -> dict[str, pd.DataFrame]:
        return {"payers": self.payer_table, **self.parts[month]}

    def responses(self, month: str) -> dict[str, pd.DataFrame]:
        return self(month)

    def claim_count(self, month: str) -> int:
        return len(self.parts[month]["claims"])


def load_truth(folder: Path, month: str) -> pd.DataFrame | None:
    """A month's truth table (synthetic data only; evaluation reads it, nothing trains on it)."""
    path = folder / MONTHS / month / "truth.parquet"
    return read_raw(path) if path.exists() else None
