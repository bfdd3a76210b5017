"""Benchmark: the web app's heaviest pages, against a real server over HTTP.

Goals (issue 14): the worklist page with 100,000 open items renders in at most 300 ms (p95);
the dashboard of a 1,000,000-claim store in at most 1 s.

A generated world is loaded into a SQLite store; the worklist is filled to ``--items`` open
items (copies of a ranked one, as in bench/store.py) and the claims to ``--claims`` (copies of
the loaded claims with their first remit, new ids), so that both pages read tables of the
stated size. Times are wall times of whole requests on the loopback, signed in as a lead:
the server's time plus a little for the loopback.

    python -m bench.web [--items 100000] [--claims 1000000] [--requests 100]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench.harness import Measurement, report
from bench.store import CLAIMRISK, _fill, _free_port, db_load, prepare

PASSWORD = "benchmark password"


def _grow_claims(url: str, claims: int) -> None:
    """Copies of the loaded claims (new ids) with their lines and their first remit."""
    from sqlalchemy import func, select, text

    from store.db import engine, insert_many
    from store.schema import claim_lines, remits
    from store.schema import claims as claims_table

    eng = engine(url)
    with eng.begin() as conn:
        conn.execute(text("PRAGMA foreign_keys=OFF"))
        have = conn.execute(select(func.count()).select_from(claims_table)).scalar_one()
        heads = [dict(r) for r in conn.execute(select(claims_table)).mappings()]
        lines: dict[str, list[dict]] = {}
        for r in conn.execute(select(claim_lines)).mappings():
            lines.setdefault(r["claim_id"], []).append(dict(r))
        paid: dict[str, dict] = {}
        for r in conn.execute(select(remits)).mappings():
            paid.setdefault(r["claim_id"], dict(r))
        made = 0
        while have + made < claims:
            new_claims, new_lines, new_remits = [], [], []
            for head in heads[: claims - have - made]:
                new = f"G{made:09d}"
                new_claims.append({**head, "claim_id": new, "original_claim_id": None})
                new_lines += [{**ln, "claim_id": new} for ln in lines.get(head["claim_id"], [])]
                remit = paid.get(head["claim_id"])
                if remit is not None:
                    copy = {"claim_id": new, "remit_id": f"G-{made}", "fingerprint": f"G{made}"}
                    new_remits.append({**remit, **copy})
                made += 1
            insert_many(conn, claims_table, new_claims)
            insert_many(conn, claim_lines, new_lines)
            insert_many(conn, remits, new_remits)
    eng.dispose()


def _signed_in(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=120)
    token = client.get("/").text.split('name="token" value="')[1].split('"')[0]
    client.post("/sign-in", data={"username": "bench", "password": PASSWORD, "token": token})
    return client


def _times(client: httpx.Client, paths: list[str], requests: int) -> list[float]:
    out = []
    for i in range(requests):
        began = time.perf_counter()
        got = client.get(paths[i % len(paths)])
        out.append(time.perf_counter() - began)
        if got.status_code != 200:
            raise RuntimeError(f"{paths[i % len(paths)]}: {got.status_code}")
    return out


def _serve(url: str, model: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    server = subprocess.Popen(
        [CLAIMRISK, "serve", "--model", str(model), "--db", url, "--port", str(port)],
        env={**os.environ},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the server did not become ready")


def _measure(case: str, times: list[float], goal: float, detail: str) -> Measurement:
    times = sorted(times)
    p95 = times[int(0.95 * (len(times) - 1))]
    med = statistics.median(times)
    return Measurement(
        case,
        len(times),
        med,
        times[0],
        p95,
        0.0,
        f"p95 <= {goal * 1000:.0f} ms",
        p95 <= goal,
        f"{detail}: median {med * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms (max column = p95)",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/store.db"
        x12, model = prepare(tmp, args.world, args.world)
        db_load(url, x12, model, "2025-12-31")
        subprocess.run(
            [CLAIMRISK, "user", "add", "bench", "--role", "lead", "--db", url],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [CLAIMRISK, "user", "password", "bench", "--db", url],
            input=PASSWORD + "\n",
            check=True,
            capture_output=True,
            text=True,
        )
        _fill(url, args.items)
        _grow_claims(url, args.claims)
        server, base = _serve(url, model)
        try:
            client = _signed_in(base)
            pages = [
                "/worklist",
                "/worklist?category=coding",
                "/worklist?sort=deadline",
                "/worklist?payer_id=P7&due=30",
            ]
            rows = [
                _measure(
                    f"worklist page, {args.items:,} items",
                    _times(client, pages, args.requests),
                    0.3,
                    "first pages, filtered and sorted",
                ),
            ]
            # the service reads the claims in the background after start-up and after each
            # load; a request made while it does waits for that read
            cold = _times(client, ["/dashboard"], 1)[0]
            scopes = [
                "/dashboard",
                "/dashboard?payer_id=COM01",
                "/dashboard?since=2024-03-01&until=2024-09-30",
                "/dashboard?payer_id=MCR01&since=2025-01-01",
            ]
            rows.append(
                _measure(
                    f"dashboard, {args.claims:,} claims",
                    _times(client, scopes, args.requests // 2),
                    1.0,
                    f"a request during the background read after start-up {cold:,.1f} s; then "
                    "all payers, one payer, a date range, both",
                )
            )
        finally:
            server.terminate()
            server.wait(30)
    report("web", rows)


if __name__ == "__main__":
    main()
