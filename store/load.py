"""``claimrisk db load``: X12 files or a dataset folder into the store, incrementally.

Loading is idempotent at three levels, and says which one applied:

- a file already loaded (same SHA-256) changes nothing;
- an interchange already loaded (same ISA06 sender and ISA13 control number, in another file)
  is skipped;
- a claim already stored (same id) is kept as it is, unless the new one is a replacement
  (frequency 7) or a void (8), which replaces it; a remit already stored (same content: claim,
  payer, control number, status, date and amounts) is not stored twice.

A replacement or void that names its original by payer claim control number (REF*F8)
supersedes the original claim. A reversal (CLP02 = 22) undoes the remit it reverses. A remit
whose claim is not in the store yet waits in ``pending_remits`` until its 837 is loaded.

Each file is one transaction: it is loaded whole or not at all. What the remits mean for the
worklist (new denials, payments that close items) is ``store.worklist``'s business.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine, insert, select, update

from features.contract import TABLES
from features.extras import extra_names
from features.io import load_dataset
from features.x12.ingest import Ingested, ingest, x12_files
from store import worklist
from store.audit import now, record
from store.db import CHUNK, insert_many, where_in
from store.schema import appeals as appeals_table
from store.schema import (
    claim_lines,
    claims,
    interchanges,
    loads,
    payers,
    pending_remits,
    remit_adjustments,
    remit_remarks,
    remits,
)

Echo = Callable[[str], None]


@dataclass
class LoadReport:
    """What one load changed, counted; ``lines`` say it in words, file by file."""

    files: int = 0
    skipped_files: int = 0
    claims_new: int = 0
    claims_replaced: int = 0
    claims_unchanged: int = 0
    claims_superseded: int = 0
    remits_new: int = 0
    remits_unchanged: int = 0
    remits_pending: int = 0
    reversals: int = 0
    items_new: int = 0
    items_closed: int = 0
    rejected: int = 0
    lines: list[str] = field(default_factory=list)

    def add(self, other: LoadReport) -> None:
        for name, value in vars(other).items():
            if isinstance(value, int):
                setattr(self, name, getattr(self, name) + value)
        self.lines += other.lines

    def summary(self) -> dict[str, int]:
        return {k: v for k, v in vars(self).items() if isinstance(v, int)}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_x12(eng: Engine, paths: Sequence[Path], actor: str, echo: Echo = print) -> LoadReport:
    """Load 837 and 835 files (folders are walked); 837s first, so that a batch's remits find
    their claims. One transaction per file."""
    total = LoadReport()
    todo: list[tuple[Path, str]] = []
    for path in x12_files(list(paths)):
        digest = sha256(path) if path.exists() else ""
        seen = _seen_file(eng, digest)
        if seen:
            total.skipped_files += 1
            total.lines.append(f"{path}: already loaded ({seen}): nothing changed")
            echo(total.lines[-1])
            continue
        todo.append((path, digest))
    read = _read_all([path for path, _ in todo])
    parsed = [(path, digest, got) for (path, digest), got in zip(todo, read, strict=True)]
    parsed.sort(key=lambda p: 0 if "837" in p[2].files[0].kind else 1)
    for path, digest, ingested in parsed:
        with eng.begin() as conn:
            report = _load_file(conn, path, digest, ingested, actor)
        total.add(report)
        echo(report.lines[-1])
    return total


#: Files read side by side, one per core, once there is this much to read (a worker's start
#: costs more than it saves on the replay's small daily files).
PARALLEL_BYTES = 8 * 1024 * 1024


def _read_all(files: list[Path]) -> list[Ingested]:
    """Each file read on its own (``ingest``), in worker processes when there is enough to
    read: reading is pure CPU and the files are independent, so two cores read two files in
    the time of the larger (20k claims: 837 2.8 s beside 835 1.9 s). The store is written by
    this process alone."""
    size = sum(p.stat().st_size for p in files if p.is_file())
    workers = min(len(files), os.cpu_count() or 1)
    each = [[p] for p in files]
    if workers < 2 or size < PARALLEL_BYTES:
        return [ingest(f) for f in each]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(ingest, each))


def _seen_file(eng: Engine, digest: str) -> str | None:
    with eng.connect() as conn:
        row = conn.execute(select(loads).where(loads.c.sha256 == digest)).first()
    return f"load {row.id} on {row.loaded_at:%Y-%m-%d %H:%M} by {row.loaded_by}" if row else None


def _load_file(
    conn: Connection, path: Path, digest: str, ingested: Ingested, actor: str
) -> LoadReport:
    report = LoadReport(files=1)
    result = ingested.files[0]
    report.rejected = result.claims_rejected + result.remits_rejected
    if result.error:
        report.lines.append(f"{path}: not loaded: {result.error}")
        return report
    if result.responses and not (result.clm_read or result.clp_read):
        report.lines.append(
            f"{path}: {result.responses:,} eligibility responses (271) not loaded: the store does "
            "not keep them yet; train from a dataset folder with its eligibility table "
            "(`claimrisk ingest`), or send them with the claims to score"
        )
        return report
    known = [
        i
        for i in result.interchanges
        if conn.execute(
            select(interchanges.c.load_id).where(
                interchanges.c.sender == i[0], interchanges.c.control == i[1]
            )
        ).first()
    ]
    load_id = _new_load(conn, path.name, digest, "x12", actor)
    if known and len(known) == len(result.interchanges):
        names = ", ".join(f"{s} #{c}" for s, c in known)
        report.skipped_files = 1
        report.lines.append(f"{path}: interchange {names} already loaded: skipped")
        _finish_load(conn, load_id, report)
        return report
    conn.execute(
        insert(interchanges),
        [
            {"sender": s, "control": c, "load_id": load_id}
            for s, c in result.interchanges
            if (s, c) not in known
        ],
    )
    tables = ingested.tables
    _insert_payers(conn, tables["payers"])
    _insert_claims(conn, tables["claims"], tables["claim_lines"], load_id, actor, report)
    remit_rows = pd.concat([tables["remits"], ingested.unmatched_remits], ignore_index=True)
    adjustments = pd.concat(
        [tables["remit_adjustments"], ingested.unmatched_adjustments], ignore_index=True
    )
    remarks = pd.concat([tables["remit_remarks"], ingested.unmatched_remarks], ignore_index=True)
    _insert_remits(conn, remit_rows, adjustments, remarks, load_id, actor, report)
    _match_pending(conn, actor, report)
    rejected = (
        f", {report.rejected} rejected (run `claimrisk ingest` for why)" if report.rejected else ""
    )
    report.lines.append(
        f"{path}: {report.claims_new:,} new claims, {report.claims_replaced:,} replaced, "
        f"{report.claims_unchanged:,} already stored; {report.remits_new:,} new remits, "
        f"{report.remits_unchanged:,} already stored, {report.remits_pending:,} waiting for "
        f"their claim, {report.reversals:,} reversals; {report.items_new:,} new worklist items, "
        f"{report.items_closed:,} closed{rejected}"
    )
    _finish_load(conn, load_id, report)
    return report


def _new_load(conn: Connection, name: str, digest: str, kind: str, actor: str) -> int:
    row = conn.execute(
        insert(loads)
        .values(name=name, sha256=digest, kind=kind, loaded_at=now(), loaded_by=actor, summary={})
        .returning(loads.c.id)
    )
    return int(row.scalar_one())


def _finish_load(conn: Connection, load_id: int, report: LoadReport) -> None:
    conn.execute(update(loads).where(loads.c.id == load_id).values(summary=report.summary()))
    record(conn, "system", "load", "load", load_id, None, report.summary())


# -- claims --------------------------------------------------------------------------------


def _records(frame: pd.DataFrame, table: str) -> list[dict]:
    """Contract rows as plain Python values (None for missing, dates as dates), built column by
    column (``DataFrame.to_dict`` on an object copy took 1.9 s of a 20k-claim load)."""
    names = [f.name for f in TABLES[table].fields]
    columns = []
    for f in TABLES[table].fields:
        column = frame[f.name]
        if f.kind == "date":
            column = pd.to_datetime(column).dt.date
        missing = column.isna().to_numpy()
        values = column.astype(object).tolist()
        if missing.any():
            values = [None if gone else v for v, gone in zip(values, missing, strict=True)]
        columns.append(values)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _existing(conn: Connection, column, values: Sequence[str]) -> set[str]:
    return {r[column.name] for r in where_in(conn, select(column), column, values)}


def _insert_payers(conn: Connection, frame: pd.DataFrame) -> None:
    """New payers only: a payer's limits may have been corrected in the store since."""
    rows = _records(frame, "payers")
    have = _existing(conn, payers.c.payer_id, [r["payer_id"] for r in rows])
    insert_many(conn, payers, [r for r in rows if r["payer_id"] not in have])


def _insert_claims(
    conn: Connection,
    frame: pd.DataFrame,
    lines: pd.DataFrame,
    load_id: int,
    actor: str,
    report: LoadReport,
) -> None:
    rows = _records(frame, "claims")
    have = _existing(conn, claims.c.claim_id, [r["claim_id"] for r in rows])
    corrections = {r["claim_id"] for r in rows if r["frequency_code"] in ("7", "8")}
    replace = have & corrections
    new = [r for r in rows if r["claim_id"] not in have]
    report.claims_new += len(new)
    report.claims_unchanged += len(have - replace)
    for r in new:
        r["load_id"] = load_id
    insert_many(conn, claims, new)
    line_rows = _records(lines, "claim_lines")
    insert_many(conn, claim_lines, [r for r in line_rows if r["claim_id"] not in have])
    lines_of: dict[str, list[dict]] = {}
    for x in line_rows:
        if x["claim_id"] in replace:
            lines_of.setdefault(x["claim_id"], []).append(x)
    for r in rows:
        if r["claim_id"] in replace:
            _replace_claim(conn, r, lines_of.get(r["claim_id"], []), actor)
            report.claims_replaced += 1
    for r in rows:
        if r["frequency_code"] in ("7", "8") and r["original_claim_id"]:
            report.claims_superseded += _supersede(conn, r, actor)


def _replace_claim(conn: Connection, row: dict, lines: list[dict], actor: str) -> None:
    """A replacement (7) or void (8) sent under the claim's own id takes its place."""
    before = (
        conn.execute(select(claims).where(claims.c.claim_id == row["claim_id"])).mappings().one()
    )
    values = {k: v for k, v in row.items() if k != "claim_id"}
    conn.execute(update(claims).where(claims.c.claim_id == row["claim_id"]).values(**values))
    conn.execute(claim_lines.delete().where(claim_lines.c.claim_id == row["claim_id"]))
    insert_many(conn, claim_lines, lines)
    changed = {k for k, v in values.items() if before.get(k) != v}
    record(
        conn,
        actor,
        "replace",
        "claim",
        row["claim_id"],
        {k: before[k] for k in changed},
        {k: values[k] for k in changed},
    )
    worklist.corrected(conn, row["claim_id"], row["claim_id"], row["frequency_code"], actor)


def _supersede(conn: Connection, row: dict, actor: str) -> int:
    """Mark the claims whose remits carry ``original_claim_id`` as their control number."""
    originals = (
        conn.execute(
            select(remits.c.claim_id)
            .where(remits.c.payer_claim_control_number == row["original_claim_id"])
            .where(remits.c.claim_id != row["claim_id"])
            .distinct()
        )
        .scalars()
        .all()
    )
    for original in originals:
        conn.execute(
            update(claims)
            .where(claims.c.claim_id == original)
            .values(superseded_by=row["claim_id"])
        )
        record(
            conn, actor, "supersede", "claim", original, None, {"superseded_by": row["claim_id"]}
        )
        worklist.corrected(conn, original, row["claim_id"], row["frequency_code"], actor)
    return len(originals)


# -- remits ---------------------------------------------------------------------------------


def fingerprints(frame: pd.DataFrame, adjustments: pd.DataFrame) -> list[str]:
    """What makes a remit the same remit wherever it was read: claim, payer, control number,
    status, date, amounts and its adjustments (``frame``'s order)."""
    held: dict[str, list[str]] = {}
    for remit_id, group, carc, dollars in zip(
        adjustments["remit_id"],
        adjustments["group_code"],
        adjustments["carc"],
        adjustments["amount"],
        strict=True,
    ):
        held.setdefault(remit_id, []).append(f"{group}-{carc}-{dollars:.2f}")
    codes = {remit_id: "|".join(sorted(c)) for remit_id, c in held.items()}
    parts = zip(
        frame["claim_id"],
        frame["payer_id"],
        frame["payer_claim_control_number"].fillna(""),
        frame["claim_status_code"],
        frame["remit_date"].astype(str),
        frame["charge_amount"].map("{:.2f}".format),
        frame["paid_amount"].map("{:.2f}".format),
        (codes.get(r, "") for r in frame["remit_id"]),
        strict=True,
    )
    return [hashlib.sha1("|".join(p).encode()).hexdigest() for p in parts]


def _insert_remits(
    conn: Connection,
    frame: pd.DataFrame,
    adjustments: pd.DataFrame,
    remarks: pd.DataFrame,
    load_id: int,
    actor: str,
    report: LoadReport,
) -> None:
    """Remits whose claim is stored go in (``_store_remits``); the others wait in
    ``pending_remits``; ones stored or waiting already are counted and left alone."""
    if frame.empty:
        return
    frame = frame.assign(remit_date=pd.to_datetime(frame["remit_date"]).dt.date)
    frame["fingerprint"] = fingerprints(frame, adjustments)
    frame = frame.drop_duplicates("fingerprint")
    stored = _existing(conn, claims.c.claim_id, frame["claim_id"].tolist())
    seen = _existing(conn, remits.c.fingerprint, frame["fingerprint"].tolist())
    seen |= _existing(conn, pending_remits.c.fingerprint, frame["fingerprint"].tolist())
    known = frame["fingerprint"].isin(seen)
    report.remits_unchanged += int(known.sum())
    ready = frame["claim_id"].isin(stored)
    _store_remits(conn, frame[ready & ~known], adjustments, remarks, load_id, actor, report)
    parked = frame[~ready & ~known]
    insert_many(conn, pending_remits, _pending_rows(parked, adjustments, remarks, load_id))
    report.remits_pending += len(parked)


def _by_remit(frame: pd.DataFrame, table: str, ids: set[str]) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    if len(frame):
        for r in _records(frame[frame["remit_id"].isin(ids)], table):
            rows.setdefault(r["remit_id"], []).append(r)
    return rows


def _pending_rows(
    parked: pd.DataFrame, adjustments: pd.DataFrame, remarks: pd.DataFrame, load_id: int
) -> list[dict]:
    ids = set(parked["remit_id"])
    adj, rem = (
        _by_remit(adjustments, "remit_adjustments", ids),
        _by_remit(remarks, "remit_remarks", ids),
    )
    out = []
    for r, fp in zip(_records(parked, "remits"), parked["fingerprint"], strict=True):
        remit = {**r, "remit_date": r["remit_date"].isoformat(), "fingerprint": fp}
        body = {
            "remit": remit,
            "adjustments": adj.get(r["remit_id"], []),
            "remarks": rem.get(r["remit_id"], []),
        }
        out.append({"fingerprint": fp, "clp01": r["claim_id"], "load_id": load_id, "remit": body})
    return out


def _store_remits(
    conn: Connection,
    frame: pd.DataFrame,
    adjustments: pd.DataFrame,
    remarks: pd.DataFrame,
    load_id: int,
    actor: str,
    report: LoadReport,
) -> None:
    """Insert remits with their codes under ids made from their content (the reader's ids are
    per file), apply reversals, and hand the new remits to the worklist."""
    if frame.empty:
        return
    frame = frame.sort_values(["remit_date", "fingerprint"], kind="stable")
    new_id = dict(zip(frame["remit_id"], "R" + frame["fingerprint"].str[:20], strict=True))
    claim_of = dict(zip(frame["remit_id"], frame["claim_id"], strict=True))
    codes = []
    for table in (adjustments, remarks):
        part = table[table["remit_id"].isin(new_id)] if len(table) else table
        part = part.assign(
            claim_id=part["remit_id"].map(claim_of), remit_id=part["remit_id"].map(new_id)
        )
        codes.append(part)
    frame = frame.assign(remit_id=frame["remit_id"].map(new_id))
    rows = [
        {**r, "fingerprint": fp, "load_id": load_id}
        for r, fp in zip(_records(frame, "remits"), frame["fingerprint"], strict=True)
    ]
    insert_many(conn, remits, rows)
    insert_many(
        conn, remit_adjustments, _records(codes[0], "remit_adjustments") if len(codes[0]) else []
    )
    insert_many(conn, remit_remarks, _records(codes[1], "remit_remarks") if len(codes[1]) else [])
    report.remits_new += len(rows)
    for r in rows:
        if r["claim_status_code"] == "22":
            report.reversals += _reverse(conn, r, actor)
    new, closed = worklist.apply_remits(conn, frame, codes[0], codes[1], actor)
    report.items_new += new
    report.items_closed += closed


def _reverse(conn: Connection, reversal: dict, actor: str) -> int:
    """Mark the remit a reversal undoes: the latest earlier one for the same claim and control
    number that is not a reversal and not reversed yet."""
    pccn = reversal["payer_claim_control_number"]
    target = conn.execute(
        select(remits.c.remit_id)
        .where(remits.c.claim_id == reversal["claim_id"])
        .where(remits.c.claim_status_code != "22", remits.c.reversed_by.is_(None))
        .where(remits.c.remit_date <= reversal["remit_date"])
        .where(
            remits.c.payer_claim_control_number == pccn
            if pccn
            else remits.c.payer_claim_control_number.is_(None)
        )
        .order_by(remits.c.remit_date.desc(), remits.c.remit_id.desc())
        .limit(1)
    ).scalar()
    if target is None:
        return 0
    conn.execute(
        update(remits).where(remits.c.remit_id == target).values(reversed_by=reversal["remit_id"])
    )
    record(conn, actor, "reverse", "remit", target, None, {"reversed_by": reversal["remit_id"]})
    return 1


def _match_pending(conn: Connection, actor: str, report: LoadReport) -> None:
    """Remits that waited for their claim, now that more claims are stored."""
    stored = select(claims.c.claim_id)
    found = (
        conn.execute(select(pending_remits).where(pending_remits.c.clp01.in_(stored)))
        .mappings()
        .all()
    )
    if not found:
        return
    frame = pd.DataFrame([w["remit"]["remit"] for w in found])
    frame["remit_date"] = pd.to_datetime(frame["remit_date"]).dt.date
    adjustments = pd.DataFrame(
        [a for w in found for a in w["remit"]["adjustments"]],
        columns=TABLES["remit_adjustments"].columns,
    )
    remarks = pd.DataFrame(
        [a for w in found for a in w["remit"]["remarks"]], columns=TABLES["remit_remarks"].columns
    )
    fps = [w["fingerprint"] for w in found]
    for start in range(0, len(fps), CHUNK):
        chunk = fps[start : start + CHUNK]
        conn.execute(pending_remits.delete().where(pending_remits.c.fingerprint.in_(chunk)))
    _store_remits(conn, frame, adjustments, remarks, int(found[0]["load_id"]), actor, report)


# -- dataset folders ------------------------------------------------------------------------


def load_folder(eng: Engine, folder: Path, actor: str, echo: Echo = print) -> LoadReport:
    """A validated dataset folder (as ``generate`` or an export writes it). Claims and remits go
    through the same rules as X12; appeals are added by id."""
    tables, _ = load_dataset(folder)
    digest = hashlib.sha256(
        "".join(sorted(sha256(p) for p in folder.iterdir() if p.is_file())).encode()
    ).hexdigest()
    seen = _seen_file(eng, digest)
    if seen:
        report = LoadReport(skipped_files=1, lines=[f"{folder}: already loaded ({seen})"])
        echo(report.lines[-1])
        return report
    with eng.begin() as conn:
        report = LoadReport(files=1)
        custom = extra_names(tables["claims"].columns)
        if custom:  # said, not silently dropped
            report.lines.append(
                f"{folder}: the custom features {', '.join(custom)} are not kept in the store "
                "(it holds the contract's columns); train from the folder to use them"
            )
            echo(report.lines[-1])
        load_id = _new_load(conn, folder.name, digest, "dataset", actor)
        _insert_payers(conn, tables["payers"])
        _insert_claims(conn, tables["claims"], tables["claim_lines"], load_id, actor, report)
        _insert_remits(
            conn,
            tables["remits"],
            tables["remit_adjustments"],
            tables["remit_remarks"],
            load_id,
            actor,
            report,
        )
        rows = _records(tables["appeals"], "appeals")
        have = _existing(conn, appeals_table.c.appeal_id, [r["appeal_id"] for r in rows])
        insert_many(conn, appeals_table, [r for r in rows if r["appeal_id"] not in have])
        report.lines.append(
            f"{folder}: {report.claims_new:,} new claims, {report.remits_new:,} new remits, "
            f"{report.items_new:,} new worklist items"
        )
        _finish_load(conn, load_id, report)
    echo(report.lines[-1])
    return report
