"""The training matrix of a partitioned dataset on Dask: ``features.monthly``'s plan as tasks.

Every step of the plan runs on a worker: a month is read, validated and parsed where it is used, and
what moves between workers is small (a month's daily outcome totals, the carried state, the
fitted pipeline's statistics). Each month's rows are written by the worker that built them, to
``OUT/months/YYYY-MM.parquet``, so nothing of the size of the data passes through this process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from features.monthly import Runner, WriteRows, build_by_month
from features.partitions import FolderMonths
from features.pipeline import FeaturePipeline


@dataclass(frozen=True)
class DaskRunner(Runner):
    """Each step a task on ``client``'s cluster; handles are futures."""

    client: Any  # distributed.Client

    def submit(self, fn: Any, *args: Any) -> Any:
        return self.client.submit(fn, *args, pure=False)

    def result(self, handle: Any) -> Any:
        return handle.result()


def build_features(
    client: Any,
    data: Path,
    out: Path,
    cutoff: Any = None,
    pipeline: FeaturePipeline | None = None,
) -> tuple[FeaturePipeline, int]:
    """Write the training matrix of the partitioned dataset ``data`` under ``out``; returns the
    fitted pipeline (with its serving snapshot) and the number of rows written."""
    fitted, counts = build_by_month(
        FolderMonths(data), cutoff, pipeline, WriteRows(out), DaskRunner(client)
    )
    return fitted, int(sum(counts))
