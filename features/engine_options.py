"""The command-line options every stage that can run on Dask shares, defined once.

``--engine pandas`` (the default) runs in this process; ``--engine dask`` runs a partitioned
dataset's months as tasks on the cluster ``--scheduler`` names, or on a local cluster of
``--workers`` processes with ``--memory-limit`` each, spilling to ``--spill-dir``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from features.cluster import DEFAULT_WORKERS, ClusterSpec, connect


class Engine(StrEnum):
    pandas = "pandas"
    dask = "dask"


EngineOption = Annotated[
    Engine,
    typer.Option(
        help="pandas: this process; dask: a partitioned dataset's months as tasks on a cluster "
        "(docs/scale.md)."
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        help="With --engine dask: join this scheduler (tcp://host:8786) instead of "
        "starting a local cluster."
    ),
]
WorkersOption = Annotated[
    int, typer.Option(min=1, help="With --engine dask and no --scheduler: local worker processes.")
]
MemoryOption = Annotated[
    str,
    typer.Option(
        "--memory-limit",
        help="With --engine dask and no --scheduler: memory per local worker (e.g. 4GiB); beyond "
        "it the worker spills to disk.",
    ),
]
SpillOption = Annotated[
    Path | None, typer.Option(help="Where local workers spill (default: a temporary folder).")
]


def cluster_for(
    engine: Engine,
    scheduler: str | None,
    workers: int = DEFAULT_WORKERS,
    memory_limit: str = "auto",
    spill_dir: Path | None = None,
) -> AbstractContextManager[Any]:
    """A Dask client for ``--engine dask`` (closed on exit), ``None`` for pandas."""
    if engine is Engine.pandas:
        if scheduler:
            raise typer.BadParameter("--scheduler needs --engine dask", param_hint="--scheduler")
        return nullcontext(None)
    try:
        import distributed  # noqa: F401
    except ImportError:  # pragma: no cover - the scale extra not installed
        raise typer.BadParameter(
            "the Dask engine needs dask[distributed]: pip install 'claimrisk[scale]'"
        ) from None
    return connect(ClusterSpec(scheduler, workers, memory_limit, spill_dir))
