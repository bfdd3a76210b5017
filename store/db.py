"""Where the store is and how to reach it: one URL, SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    bindparam,
    create_engine,
    event,
    insert,
    text,
    update,
)

#: The embedded default: a file under the (git-ignored) data folder.
DEFAULT_URL = "sqlite:///data/claimrisk.db"
ENV = "CLAIMRISK_DATABASE_URL"


def database_url(given: str | None = None) -> str:
    """``--db URL``, else ``CLAIMRISK_DATABASE_URL``, else the SQLite file under ``data/``.

    A bare path is read as a SQLite file; ``postgresql://`` URLs use the psycopg 3 driver.
    """
    url = given or os.environ.get(ENV) or DEFAULT_URL
    if "://" not in url:
        url = f"sqlite:///{url}"
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def engine(url: str | None = None) -> Engine:
    """An engine for the store. SQLite gets its folder, WAL, foreign keys and a busy timeout, so
    that the service and a ``db load`` can share one file."""
    url = database_url(url)
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        eng = create_engine(url, connect_args={"timeout": 30})
        event.listen(eng, "connect", _sqlite_pragmas)
        return eng
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@contextmanager
def transaction(eng: Engine) -> Iterator[Connection]:
    """One unit of work: committed whole, or rolled back whole."""
    with eng.begin() as conn:
        yield conn


def redacted(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(database_url(url)).render_as_string(hide_password=True)


#: Rows per INSERT batch and values per ``IN (...)``: under SQLite's 32,766 bound parameters.
CHUNK = 5_000


#: Rows inserted at once after which PostgreSQL is told to look at the table again.
ANALYZE_AFTER = 20_000


def insert_many(conn: Connection, table, rows: list[dict]) -> None:
    """``INSERT`` of many rows (each a dict with the first row's keys), ``CHUNK`` at a time.

    Each column is converted once, by its type's own bind processor (dates, JSON, booleans as
    SQLAlchemy would store them), and the rows go to the driver as they are: PostgreSQL's
    ``COPY``, SQLite's ``executemany`` of a statement compiled once. SQLAlchemy's per-row
    parameter handling had been two fifths of a load's store time.

    After a big insert PostgreSQL's statistics still describe the table as it was: in a load
    of a million claims, ``claim_id IN (...)`` ran as a sequential scan at 10 s a query,
    planned (and its prepared statement's plan cached) while the table was small. ``ANALYZE``
    sees this transaction's rows, and invalidates the cached plans, for about 0.1 s.
    """
    if not rows:
        return
    names = list(rows[0])
    if conn.dialect.name == "postgresql":
        _copy(conn, table, names, _bound(conn, table, names, rows))
        if len(rows) >= ANALYZE_AFTER:
            conn.execute(text(f"ANALYZE {table.name}"))
        return
    compiled = insert(table).compile(dialect=conn.dialect, column_keys=names)  # SQLite: "?"
    params = list(zip(*_bound(conn, table, list(compiled.positiontup), rows), strict=True))
    for start in range(0, len(params), CHUNK):
        conn.exec_driver_sql(compiled.string, params[start : start + CHUNK])


def _copy(conn: Connection, table, names: list[str], columns: list[list[Any]]) -> None:
    """PostgreSQL's ``COPY ... FROM STDIN`` of the converted columns, on the transaction's own
    connection: one stream instead of a statement per thousand rows."""
    for i, name in enumerate(names):  # COPY takes "1.0" for no integer: pandas' int-as-float
        if isinstance(table.c[name].type, Integer):
            columns[i] = [_whole(v) for v in columns[i]]
    quoted = ", ".join(conn.dialect.identifier_preparer.quote(n) for n in names)
    cursor = conn.connection.dbapi_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({quoted}) FROM STDIN") as stream:
        for row in zip(*columns, strict=True):
            stream.write_row(row)


def _whole(value: Any) -> Any:
    """A float that holds a whole number as that int (others as they are, for COPY to refuse)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _bound(conn: Connection, table, names: list[str], rows: list[dict]) -> list[list[Any]]:
    """Each column of ``rows`` (in ``names`` order) as the driver takes it."""
    out = []
    for name in names:
        kind = conn.dialect.type_descriptor(table.c[name].type)
        convert = kind.bind_processor(conn.dialect)
        values = [row.get(name) for row in rows]
        out.append([convert(v) for v in values] if convert else values)
    return out


def update_many(conn: Connection, table, rows: list[dict]) -> None:
    """``UPDATE`` of many rows by ``id``, each row a dict of ``id`` and the values it takes:
    one executemany per set of columns changed, ``CHUNK`` rows at a time."""
    shapes: dict[tuple[str, ...], list[dict]] = {}
    for row in rows:
        values = sorted(k for k in row if k != "id")
        # a bound parameter may not share a column's name in an UPDATE: prefix them all
        shapes.setdefault(tuple(values), []).append({f"v_{k}": v for k, v in row.items()})
    for columns, bound in shapes.items():
        statement = (
            update(table)
            .where(table.c.id == bindparam("v_id"))
            .values({c: bindparam(f"v_{c}") for c in columns})
        )
        for start in range(0, len(bound), CHUNK):
            conn.execute(statement, bound[start : start + CHUNK])


def where_in(conn: Connection, query, column, values: Sequence[Any]) -> list[Any]:
    """The rows of ``query`` whose ``column`` is one of ``values``, ``CHUNK`` values a query."""
    values = list(dict.fromkeys(values))
    out: list[Any] = []
    for start in range(0, len(values), CHUNK):
        chunk = values[start : start + CHUNK]
        out += conn.execute(query.where(column.in_(chunk))).mappings().all()
    return out


def frame(conn: Connection, query, columns: Sequence[str]) -> pd.DataFrame:
    """``query``'s rows as a frame with ``columns``, built column by column. Handing pandas the
    rows themselves costs it a failed attribute look-up per row on SQLAlchemy's ``Row``: ten
    seconds at a million rows."""
    rows = conn.execute(query).all()
    values = zip(*rows, strict=True) if rows else ([] for _ in columns)
    return pd.DataFrame(dict(zip(columns, map(list, values), strict=True)), columns=list(columns))
