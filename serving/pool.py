"""Where scoring work runs, so that large batches cannot starve single claims.

Small requests (``inline_claims`` or fewer) are scored on the event loop: about a millisecond,
less than a thread hop would cost. Larger ones go to a pool of ``large_batch_slots`` threads
owned by the app: at most that many big batches are scored at once and the rest queue *there*,
never in front of the event loop that answers single claims and health checks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from fastapi import FastAPI

T = TypeVar("T")


def open_pool(app: FastAPI) -> None:
    slots = app.state.settings.large_batch_slots
    app.state.pool = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="claimrisk-batch")


def close_pool(app: FastAPI) -> None:
    app.state.pool.shutdown(wait=False, cancel_futures=True)


async def compute(app: FastAPI, size: int, func: Callable[..., T], *args: Any) -> T:
    if size <= app.state.settings.inline_claims:
        return func(*args)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(app.state.pool, partial(func, *args))
