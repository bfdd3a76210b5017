"""Where the Dask engine runs: an existing cluster, or a local one that spills to disk.

``claimrisk ... --engine dask`` either joins the scheduler ``--scheduler ADDRESS`` names (a
cluster started by dask-kubernetes, dask-jobqueue or ``dask scheduler``; see docs/scale.md) or
starts a :class:`distributed.LocalCluster` of single-threaded worker processes, each with a memory
limit, that spill what they hold to a local folder rather than run out. Work goes to the workers as
whole months (``features.monthly``), so a worker's memory is bounded by one month of claims.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: What a local cluster defaults to: one worker process per core, memory shared evenly with room
#: for the scheduler and this process.
DEFAULT_WORKERS = max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class ClusterSpec:
    """How to reach or start the cluster (``scheduler`` set: join it; the rest is ignored)."""

    scheduler: str | None = None
    workers: int = DEFAULT_WORKERS
    memory_limit: str = "auto"  # per worker, e.g. "4GiB"; "auto" shares the machine's memory
    spill_dir: Path | None = None  # where workers spill; default: a temporary folder
    #: fraction of a worker's memory limit its held results may take before they spill to disk
    spill_at: float = 0.6


@contextmanager
def connect(spec: ClusterSpec = ClusterSpec()) -> Iterator:
    """A :class:`distributed.Client` for ``spec``, closed (and a local cluster stopped) on exit."""
    import dask
    from distributed import Client, LocalCluster

    if spec.scheduler:
        with Client(spec.scheduler) as client:
            yield client
        return
    settings = {
        "distributed.worker.memory.target": spec.spill_at,
        "distributed.worker.memory.spill": max(spec.spill_at, 0.7),
        "distributed.scheduler.worker-saturation": 1.0,
    }
    with (
        dask.config.set(settings),
        LocalCluster(
            n_workers=spec.workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=spec.memory_limit,
            local_directory=str(spec.spill_dir) if spec.spill_dir else None,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def spilled_bytes(client) -> int:
    """Bytes the workers have written to disk since they started (their running metrics: what
    is on disk now may already have been read back and freed)."""

    def written(dask_worker) -> int:
        totals = dask_worker.digests_total.items()
        return int(sum(v for k, v in totals if k[-2:] == ("disk-write", "bytes")))

    return int(sum(client.run(written).values()))
