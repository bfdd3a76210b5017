"""The store's schema and loads: migrations, idempotency, replacements, reversals, export."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from features.codes import label_remits
from features.io import load_dataset
from features.labels import build_labels
from features.x12.ingest import ingest, write_ingested
from features.x12.write import write_271, write_835, write_837, write_x12
from store import schema
from store.db import engine
from store.export import read_tables
from store.load import load_x12
from store.migrate import upgrade

ACTOR = "test"


def quiet(_: str) -> None:
    pass


def _count(store, table) -> int:
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_the_migrations_build_exactly_the_declared_schema(store):
    with store.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    assert diffs == []
    assert upgrade(store) == ("0004", "0004")  # a second upgrade does nothing


def test_the_audit_log_is_append_only(store):
    from store.audit import record

    with store.begin() as conn:
        record(conn, ACTOR, "create", "thing", 1, None, {"a": 1})
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), store.begin() as conn:
            conn.execute(text(statement))
    assert _count(store, schema.audit_log) == 1


@pytest.fixture(scope="module")
def world_files(small_world, tmp_path_factory) -> tuple[dict, list[Path]]:
    tables = small_world[0]
    return tables, write_x12(tables, tmp_path_factory.mktemp("world-x12"))


def test_loading_twice_changes_nothing_and_says_so(store, world_files, tmp_path):
    tables, paths = world_files
    first = load_x12(store, paths, ACTOR, quiet)
    assert first.claims_new == len(tables["claims"])
    assert first.remits_new == len(ingest(paths).tables["remits"])
    assert first.items_new > 0
    counts = {
        t: _count(store, schema.metadata.tables[t]) for t in ("claims", "remits", "audit_log")
    }
    again = load_x12(store, paths, ACTOR, quiet)
    assert again.skipped_files == len(paths)
    assert all("already loaded" in line for line in again.lines)
    # the same interchange in another file (other bytes, same ISA06/ISA13) is skipped too
    copy = tmp_path / "resent_835.x12"
    copy.write_text(paths[-1].read_text() + "\n")
    resent = load_x12(store, [copy], ACTOR, quiet)
    assert "interchange CLAIMRISK #000000003 already loaded: skipped" in resent.lines[0]
    after = {t: _count(store, schema.metadata.tables[t]) for t in ("claims", "remits")}
    assert after == {t: counts[t] for t in after}


def _rows(eng, table) -> list[tuple]:
    """A table's rows in key order, without what differs between two loads of the same files."""
    skip = {"load_id", "created_at", "updated_at", "at"}
    columns = [c for c in table.columns if c.name not in skip]
    order = list(table.primary_key.columns) or columns
    with eng.connect() as conn:
        return [tuple(r) for r in conn.execute(select(*columns).order_by(*order))]


def test_files_read_side_by_side_load_what_one_process_loads(
    store, world_files, tmp_path, monkeypatch
):
    """Reading in worker processes (big loads) must store exactly what a serial read stores."""
    import store.load as load

    _, paths = world_files
    serial = engine(f"sqlite:///{tmp_path / 'serial.db'}")
    upgrade(serial)
    load_x12(serial, paths, ACTOR, quiet)
    monkeypatch.setattr(load, "PARALLEL_BYTES", 0)
    report = load_x12(store, paths, ACTOR, quiet)
    assert report.files == len(paths) and report.claims_new > 0
    for name in ("claims", "claim_lines", "remits", "remit_adjustments", "worklist_items"):
        table = schema.metadata.tables[name]
        assert _rows(store, table) == _rows(serial, table), name
    serial.dispose()


def test_export_gives_back_what_ingest_reads(store, world_files, tmp_path):
    _, paths = world_files
    load_x12(store, paths, ACTOR, quiet)
    exported = read_tables(store)
    write_ingested(ingest(paths), tmp_path / "ingested")
    direct, _ = load_dataset(tmp_path / "ingested")
    assert len(exported["claims"]) == len(direct["claims"])
    a, b = build_labels(exported), build_labels(direct)
    pd.testing.assert_series_equal(
        a.set_index("claim_id")["label_denied"].sort_index(),
        b.set_index("claim_id")["label_denied"].sort_index(),
    )
    assert a["label_overturned"].sum() == b["label_overturned"].sum()


def _denied_claim(tables: dict) -> str:
    remits = tables["remits"]
    labels = label_remits(remits, tables["remit_adjustments"])
    first = remits[labels["denied"].to_numpy()].drop_duplicates("claim_id")
    once = first[~first["claim_id"].isin(remits["claim_id"][remits["claim_id"].duplicated()])]
    claims = tables["claims"].set_index("claim_id")
    pick = once[claims.loc[once["claim_id"], "claim_type"].to_numpy() == "professional"]
    return pick["claim_id"].iloc[0]


def _subset(tables: dict, claim_id: str) -> dict[str, pd.DataFrame]:
    out = {}
    for name, frame in tables.items():
        out[name] = frame[frame["claim_id"] == claim_id].copy() if "claim_id" in frame else frame
    return out


def _payment(denial: dict, remit_id: str, day: dt.date, status: str = "1", paid=None):
    """A remit row (and its CAS rows) paying the denied claim in full minus CO-45."""
    remit = denial["remits"].iloc[[0]].copy()
    paid = round(float(remit["charge_amount"].iloc[0]) * 0.6, 2) if paid is None else paid
    remit = remit.assign(
        remit_id=remit_id,
        claim_status_code=status,
        remit_date=pd.Timestamp(day),
        paid_amount=paid,
        patient_responsibility=0.0,
    )
    adj = pd.DataFrame(
        {
            "remit_id": [remit_id],
            "claim_id": remit["claim_id"].tolist(),
            "line_number": [pd.NA],
            "group_code": ["CO"],
            "carc": ["45"],
            "amount": [float(remit["charge_amount"].iloc[0]) - paid],
        }
    ).astype({"line_number": "Int64"})
    return remit, adj


def _item(store, claim_id: str) -> dict:
    with store.connect() as conn:
        return dict(
            conn.execute(
                select(schema.worklist_items).where(schema.worklist_items.c.claim_id == claim_id)
            )
            .mappings()
            .one()
        )


def test_a_replacement_supersedes_its_original_and_its_payment_closes_the_item(
    store, small_world, tmp_path
):
    tables = small_world[0]
    claim_id = _denied_claim(tables)
    denial = _subset(tables, claim_id)
    denial["appeals"] = denial["appeals"].iloc[0:0]
    write_837(denial, tmp_path / "a", control=100)
    write_835(denial, tmp_path / "a", control=101)
    load_x12(store, [tmp_path / "a"], ACTOR, quiet)
    assert _item(store, claim_id)["status"] == "open"

    # the corrected claim: a new patient control number, frequency 7, REF*F8 = the PCCN
    new_id = claim_id + "R"
    pccn = denial["remits"]["payer_claim_control_number"].iloc[0]
    fixed = {k: v.copy() for k, v in denial.items()}
    fixed["claims"] = fixed["claims"].assign(
        claim_id=new_id, frequency_code="7", original_claim_id=pccn
    )
    fixed["claim_lines"] = fixed["claim_lines"].assign(claim_id=new_id)
    write_837(fixed, tmp_path / "b", control=102)
    report = load_x12(store, [tmp_path / "b"], ACTOR, quiet)
    assert report.claims_superseded == 1
    with store.connect() as conn:
        original = conn.execute(
            select(schema.claims.c.superseded_by).where(schema.claims.c.claim_id == claim_id)
        ).scalar_one()
    assert original == new_id
    assert _item(store, claim_id)["status"] == "appealed"

    paid_day = denial["remits"]["remit_date"].iloc[0].date() + dt.timedelta(days=20)
    remit, adj = _payment(denial, "PAY1", paid_day)
    paid = {
        **fixed,
        "remits": remit.assign(claim_id=new_id),
        "remit_adjustments": adj.assign(claim_id=new_id),
        "remit_remarks": fixed["remit_remarks"].iloc[0:0],
    }
    write_835(paid, tmp_path / "c", control=103)
    report = load_x12(store, [tmp_path / "c"], ACTOR, quiet)
    assert report.items_closed == 1
    item = _item(store, claim_id)
    assert item["status"] == "won"
    assert item["recovered_amount"] == pytest.approx(float(remit["paid_amount"].iloc[0]), abs=0.01)
    with store.connect() as conn:
        actions = [
            r.action
            for r in conn.execute(
                select(schema.audit_log).where(schema.audit_log.c.entity == "worklist_item")
            )
        ]
        payment = conn.execute(
            select(schema.remits.c.remit_id).where(schema.remits.c.paid_amount > 0)
        ).scalar_one()
    assert actions == ["create", f"replacement claim {new_id} sent", f"paid by remit {payment}"]


def test_a_reversal_undoes_its_remit_and_a_claim_resent_as_7_replaces_in_place(
    store, small_world, tmp_path
):
    tables = small_world[0]
    claim_id = _denied_claim(tables)
    denial = _subset(tables, claim_id)
    denial["appeals"] = denial["appeals"].iloc[0:0]
    day = denial["remits"]["remit_date"].iloc[0].date()
    pay, pay_adj = _payment(denial, "P1", day + dt.timedelta(days=5))
    back, back_adj = _payment(
        denial,
        "P2",
        day + dt.timedelta(days=9),
        status="22",
        paid=-float(pay["paid_amount"].iloc[0]),
    )
    back_adj["amount"] = -pay_adj["amount"].to_numpy()
    history = {
        **denial,
        "remits": pd.concat([denial["remits"], pay, back]),
        "remit_adjustments": pd.concat([denial["remit_adjustments"], pay_adj, back_adj]),
    }
    write_837(denial, tmp_path / "a", control=200)
    write_835(history, tmp_path / "a", control=201)
    report = load_x12(store, [tmp_path / "a"], ACTOR, quiet)
    assert report.reversals == 1
    with store.connect() as conn:
        rows = conn.execute(select(schema.remits).order_by(schema.remits.c.remit_date)).all()
    paid_row = next(r for r in rows if r.paid_amount > 0)
    reversal = next(r for r in rows if r.claim_status_code == "22")
    assert paid_row.reversed_by == reversal.remit_id
    assert all(r.reversed_by is None for r in rows if r is not paid_row)

    resent = {k: v.copy() for k, v in denial.items()}
    resent["claims"] = resent["claims"].assign(frequency_code="7", total_charge=123.45)
    resent["claim_lines"] = resent["claim_lines"].head(1).assign(line_charge=123.45)
    write_837(resent, tmp_path / "b", control=202)
    report = load_x12(store, [tmp_path / "b"], ACTOR, quiet)
    assert report.claims_replaced == 1
    with store.connect() as conn:
        charge = conn.execute(
            select(schema.claims.c.total_charge).where(schema.claims.c.claim_id == claim_id)
        ).scalar_one()
        change = conn.execute(
            select(schema.audit_log).where(schema.audit_log.c.action == "replace")
        ).one()
    assert charge == pytest.approx(123.45)
    assert change.after["total_charge"] == pytest.approx(123.45)
    assert change.before["frequency_code"] == "1"


def test_remits_before_their_claims_wait_and_are_matched_later(store, small_world, tmp_path):
    tables = small_world[0]
    claim_id = _denied_claim(tables)
    denial = _subset(tables, claim_id)
    denial["appeals"] = denial["appeals"].iloc[0:0]
    write_835(denial, tmp_path / "a", control=300)
    early = load_x12(store, [tmp_path / "a"], ACTOR, quiet)
    assert early.remits_pending == 1 and early.remits_new == 0
    write_837(denial, tmp_path / "b", control=301)
    late = load_x12(store, [tmp_path / "b"], ACTOR, quiet)
    assert late.remits_new == 1 and late.items_new == 1
    assert _count(store, schema.pending_remits) == 0


def test_a_load_is_all_or_nothing(store, world_files, monkeypatch):
    _, paths = world_files
    from store import worklist

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(worklist, "apply_remits", broken)
    load_x12(store, paths[:-1], ACTOR, quiet)
    with pytest.raises(RuntimeError):
        load_x12(store, paths[-1:], ACTOR, quiet)
    assert _count(store, schema.remits) == 0
    with store.begin() as conn:  # nothing of the failed file remains, not even its load row
        conn.execute(update(schema.routing_rules).values(active=True))
        assert conn.execute(select(func.count()).select_from(schema.loads)).scalar_one() == 2


def test_a_big_insert_brings_postgresqls_statistics_up_to_date(store):
    """In a million-claim load, ``claim_id IN (...)`` ran as a sequential scan at 10 s a query:
    planned (and its prepared statement's plan cached) while the table was small. ``ANALYZE``
    after a big ``insert_many`` gives the planner the table as it now is, and drops the
    cached plans."""
    import datetime as dt

    from store.db import ANALYZE_AFTER, insert_many

    if store.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's planner statistics; SQLite keeps none here")
    rows = [
        {
            "claim_id": f"K{i:08d}",
            "model_version": "v",
            "denial_probability": 0.1,
            "risk_band": "low",
            "likely_categories": [],
            "scored_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            "scored_by": "test",
        }
        for i in range(ANALYZE_AFTER)
    ]
    known = text("SELECT reltuples FROM pg_class WHERE relname = 'scores'")
    with store.begin() as conn:
        before = conn.execute(known).scalar_one()
        insert_many(conn, schema.scores, rows)
        after = conn.execute(known).scalar_one()
    assert before <= 0 and after >= 0.9 * ANALYZE_AFTER


def test_a_271_is_not_loaded_and_says_why(store, small_world, tmp_path):
    """The store does not keep eligibility responses yet: a 271 is refused by name, no load is
    recorded (a later version may load the same file), and nothing else changes."""
    path = write_271(small_world[0], tmp_path)
    before = _count(store, schema.metadata.tables["loads"])
    report = load_x12(store, [path], ACTOR, quiet)
    assert "eligibility responses (271) not loaded" in report.lines[0]
    assert _count(store, schema.metadata.tables["loads"]) == before
