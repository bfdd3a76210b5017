"""Alembic's entry point: migrations run on the engine ``store.migrate`` hands over."""

from __future__ import annotations

from alembic import context

from store.schema import metadata

engine = context.config.attributes["engine"]
sqlite = engine.dialect.name == "sqlite"
with engine.connect() as connection:
    # SQLite changes a column by copying its table; a table others refer to (claims, payers)
    # can only be dropped and renamed with the foreign keys off. The pragma is a no-op inside a
    # transaction, so it is set before the migration's and checked after it.
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    with connection.begin():
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        context.run_migrations()
    if sqlite:
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()
        if broken:
            raise RuntimeError(f"the migration left rows whose references are broken: {broken[:5]}")
