"""``claimrisk db export``: the store's contract tables as a dataset folder, for training."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, select

from features.contract import TABLES
from features.io import write_dataset
from store import db, schema


def read_tables(eng: Engine) -> dict[str, pd.DataFrame]:
    """Every contract table the store keeps, in the contract's columns and types. Superseded
    claims and reversed remits stay: training sees history as it happened (labels read CLP02 =
    22). Eligibility responses are not kept in the store yet: a dataset needing them keeps its
    own ``eligibility`` table."""
    out = {}
    with eng.connect() as conn:
        for name, spec in TABLES.items():
            if name not in schema.metadata.tables:
                continue
            table = schema.metadata.tables[name]
            query = select(*(table.c[f.name] for f in spec.fields))
            out[name] = typed(db.frame(conn, query, spec.columns), name)
    return out


def typed(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Rows read back from the store in the contract's pandas types (extra columns kept)."""
    for f in TABLES[name].fields:
        if f.kind == "date":
            frame[f.name] = pd.to_datetime(frame[f.name])
        frame[f.name] = frame[f.name].astype(f.pandas_dtype)
    return frame


def export(eng: Engine, out: Path) -> dict[str, int]:
    tables = read_tables(eng)
    write_dataset(tables, out)
    return {name: len(frame) for name, frame in tables.items()}
