"""Benchmark: the store. Loading X12 into SQLite and PostgreSQL, and the queue's latency.

Goals (issue 13): load at least 5,000 claims per second (837 + 835, everything the store does:
parsing, matching, idempotency checks, worklist items, audit rows); ``GET /v1/worklist`` p99
at most 50 ms with 100,000 open items.

Each load runs the real ``claimrisk db load`` in its own process (its own peak memory). The
queue is measured against a real ``claimrisk serve --db`` over HTTP, on a store holding
100,000 open items (copies of one loaded item: the query touches the items table only), with
a mix of pages: the first page, filtered pages and pages deep in a cursor walk.

    python -m bench.store [--claims 100000] [--items 100000] [--requests 400]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.harness import Measurement, report, run_once

CLAIMRISK = str(Path(sys.executable).with_name("claimrisk"))


def prepare(tmp: str, claims: int, train_claims: int) -> tuple[Path, Path]:
    """(X12 folder, model) in ``tmp``: a world of ``claims`` exported as 837 + 835, and a
    ranking model trained on a world of ``train_claims`` (its cost in a load is per item)."""
    data, x12, model = Path(tmp) / "world", Path(tmp) / "x12", Path(tmp) / "model"
    taught = Path(tmp) / "train-world"
    run_once([CLAIMRISK, "generate", "--claims", str(claims), "--seed", "5", "--out", str(data)])
    run_once([CLAIMRISK, "export-x12", "--data", str(data), "--out", str(x12)])
    if train_claims == claims:
        taught = data
    else:
        argv = ["--claims", str(train_claims), "--seed", "5", "--out", str(taught)]
        run_once([CLAIMRISK, "generate", *argv])
    tracking = f"sqlite:///{tmp}/mlflow.db"
    run_once(
        [CLAIMRISK, "train", "--data", str(taught), "--out", str(model), "--tracking-uri", tracking]
    )
    return x12, model


def db_load(url: str, x12: Path, model: Path, as_of: str) -> tuple[float, float]:
    """(seconds, peak MiB) of the real ``db load`` into a new store, ranking the new items
    with the model (so the service has nothing left to rank at start-up)."""
    run_once([CLAIMRISK, "db", "upgrade", "--db", url])
    argv = ["--db", url, "--x12", str(x12), "--model", str(model), "--as-of", as_of]
    return run_once([CLAIMRISK, "db", "load", *argv])


def _load(url: str, x12: Path, model: Path, claims: int) -> Measurement:
    seconds, rss = db_load(url, x12, model, "2024-01-01")
    rate = claims / seconds
    kind = url.split(":", 1)[0]
    return Measurement(
        f"db load {claims:,} claims ({kind})",
        1,
        seconds,
        seconds,
        seconds,
        rss,
        ">= 5,000 claims/s",
        rate >= 5000,
        f"{rate:,.0f} claims/s",
    )


def _fill(url: str, items: int) -> None:
    """Copies of the store's first item until it holds ``items`` open ones."""
    from sqlalchemy import func, insert, select, text

    from store.db import engine
    from store.schema import worklist_items

    eng = engine(url)
    with eng.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("PRAGMA foreign_keys=OFF"))
        else:
            conn.execute(text("SET session_replication_role = replica"))  # no FK checks
        ranked = worklist_items.c.model_version.is_not(None)
        row = dict(conn.execute(select(worklist_items).where(ranked).limit(1)).mappings().one())
        row.pop("id")
        have = conn.execute(select(func.count()).select_from(worklist_items)).scalar_one()
        categories = ("coding", "eligibility", "authorization")
        rows = [
            {
                **row,
                "claim_id": f"B{i:09d}",
                "status": "open",
                "priority_key": -(i % 400),
                "payer_id": f"P{i % 40}",
                "category": categories[i % 3],
            }
            for i in range(items - have)
        ]
        for start in range(0, len(rows), 10_000):
            conn.execute(insert(worklist_items), rows[start : start + 10_000])
    eng.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _queue_latency(url: str, model: Path, requests: int) -> tuple[float, float, str]:
    """(p50 ms, p99 ms, detail) of GET /v1/worklist against a real server."""
    port = _free_port()
    env = {**os.environ, "CLAIMRISK_ALLOW_ANONYMOUS": "true"}
    server = subprocess.Popen(
        [CLAIMRISK, "serve", "--model", str(model), "--db", url, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(600):
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.5)
            shapes = [
                "/v1/worklist?limit=50",
                "/v1/worklist?limit=50&payer_id=P7",
                "/v1/worklist?limit=50&category=coding&sort=deadline",
                "/v1/worklist?limit=50&sort=amount",
            ]
            times, cursor = [], None
            for i in range(requests):
                path = shapes[i % len(shapes)]
                if i % 5 == 4 and cursor:
                    path = f"/v1/worklist?limit=50&cursor={cursor}"
                began = time.perf_counter()
                body = client.get(path).json()
                times.append((time.perf_counter() - began) * 1000)
                if "cursor" in path or i % len(shapes) == 0:
                    cursor = body["next_cursor"]
    finally:
        server.terminate()
        server.wait(30)
    times.sort()
    p50, p99 = statistics.median(times), times[int(0.99 * (len(times) - 1))]
    return p50, p99, f"{requests} requests, one client: p50 {p50:.1f} ms, p99 {p99:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument(
        "--train-claims",
        type=int,
        default=20_000,
        help="the ranking model is trained on a world of this size (its cost in a load is per "
        "item ranked, not per claim it was trained on)",
    )
    args = parser.parse_args()
    from tests.store.postgres import cluster

    rows: list[Measurement] = []
    with tempfile.TemporaryDirectory() as tmp, cluster() as pg:
        x12, model = prepare(tmp, args.claims, args.train_claims)
        for url in (f"sqlite:///{tmp}/store.db", pg):
            rows.append(_load(url, x12, model, args.claims))
            _fill(url, args.items)
            p50, p99, detail = _queue_latency(url, model, args.requests)
            kind = url.split(":", 1)[0]
            # the table's time columns: median = p50, min = p50, max = p99 (seconds)
            case = f"GET /v1/worklist, {args.items:,} items ({kind})"
            rows.append(
                Measurement(
                    case,
                    args.requests,
                    p50 / 1000,
                    p50 / 1000,
                    p99 / 1000,
                    0.0,
                    "p99 <= 50 ms",
                    p99 <= 50,
                    detail,
                )
            )
    report("store", rows)


if __name__ == "__main__":
    main()
