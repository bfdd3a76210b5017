"""History features that stay current: the served model's history snapshot rebuilt from the
store, and scores as of a past day.

The boosters were trained on features such as "this payer's denial rate for this procedure";
their inputs move with every 835 loaded. ``refresh`` rebuilds the pipeline's history snapshot
(``FeaturePipeline.refresh``) from the store's tables and swaps a complete new ``Loaded`` in
(one assignment: a request sees the old model or the new one, never half of each); the
boosters are untouched, so no retraining. The service checks the store every
``history_check_seconds`` and refreshes when a load happened since.

``as_of`` gives a claim the history strictly before a day (audits, back-tests): the snapshot
is rebuilt with that cutoff; the last few are kept, since they cost a full rebuild each.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import logging
import threading
from collections import OrderedDict

from sqlalchemy import Engine, func, select

from serving.state import Loaded
from store.export import read_tables
from store.schema import loads

log = logging.getLogger("claimrisk.serving")
#: Pipelines kept for past days (each holds a history snapshot).
AS_OF_CACHE = 4


def last_load(eng: Engine) -> int:
    with eng.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(loads.c.id), 0))).scalar_one())


def with_history(loaded: Loaded, eng: Engine, cutoff: dt.date | None = None) -> Loaded:
    """``loaded`` with its pipeline's history rebuilt from the store (before ``cutoff``)."""
    tables = read_tables(eng)
    pipeline = copy.deepcopy(loaded.model.pipeline).refresh(tables, cutoff)
    model = dataclasses.replace(loaded.model, pipeline=pipeline)
    return dataclasses.replace(loaded, model=model)


class History:
    """Keeps the served model's history current with the store, and serves past days."""

    def __init__(self, eng: Engine) -> None:
        self.engine = eng
        self.seen_load = -1
        self._lock = threading.Lock()
        self._past: OrderedDict[tuple[str, dt.date], Loaded] = OrderedDict()

    def refresh(self, slot) -> bool:
        """Rebuild the served model's history if the store changed; True when it did."""
        with self._lock:
            current, latest = slot.current, last_load(self.engine)
            if current is None or latest == self.seen_load:
                return False
            if latest == 0:  # an empty store: keep the training snapshot
                self.seen_load = latest
                return False
            slot.current = with_history(current, self.engine)
            self.seen_load = latest
            self._past.clear()
        log.info("history refreshed from the store as of %s", slot.current.model.pipeline.cutoff_)
        return True

    def as_of(self, loaded: Loaded, day: dt.date) -> Loaded:
        key = (loaded.version, day)
        with self._lock:
            if key in self._past:
                self._past.move_to_end(key)
                return self._past[key]
        past = with_history(loaded, self.engine, day)
        with self._lock:
            self._past[key] = past
            while len(self._past) > AS_OF_CACHE:
                self._past.popitem(last=False)
        return past
