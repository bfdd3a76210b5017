"""Benchmark: claimrisk's API against ``mlflow models serve`` of the same logged model.

One run, same machine, same model, one worker each, servers started one at a time on 127.0.0.1:
wrk (``apt-get install wrk``) at concurrency 8 posts 1-claim and 1,000-claim requests; claimrisk
with explanations off, on for all claims, and the default (flagged claims only). Then a stage
profile of one request of each size, in process, shows where the time goes.

Goals (issue 5), one worker: 1-claim without explanations ≥ 8× mlflow's throughput with
p99 ≤ 15 ms; with explanations ≥ 3× mlflow's; a 1,000-claim request without explanations in
≤ 100 ms end to end.

    python -m bench.serve [--claims 300000] [--seconds 8] [--rounds 3] [--model models/NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

from bench.harness import RESULTS, run_once

KEY = "bench-key"
CONCURRENCY = 8


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _json_value(v: object) -> object:
    if v is None or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
        return None
    if hasattr(v, "strftime"):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def claim_bodies(data: Path, n: int) -> tuple[list[dict], list[dict]]:
    """The last ``n`` claims as API claims (nested) and as mlflow flat records."""
    from features.io import load_dataset

    tables, _ = load_dataset(data)
    claims = tables["claims"].tail(n)
    lines = tables["claim_lines"][tables["claim_lines"]["claim_id"].isin(claims["claim_id"])]
    by_claim = {cid: g for cid, g in lines.groupby("claim_id", sort=False)}
    nested, flat = [], []
    for row in claims.to_dict("records"):
        header = {k: _json_value(v) for k, v in row.items()}
        rows = [
            {k: _json_value(v) for k, v in r.items() if k != "claim_id"}
            for r in by_claim[row["claim_id"]].to_dict("records")
        ]
        nested.append({**header, "lines": rows})
        flat.extend({**header, **r} for r in rows)
    return nested, flat


def _wait(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stdout.read().decode()[-2000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise RuntimeError(f"server at {url} did not become ready")


def _seconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def wrk(
    url: str,
    body_file: Path,
    headers: dict[str, str],
    seconds: int,
    tmp: Path,
    connections: int = CONCURRENCY,
) -> dict:
    script = tmp / "post.lua"
    lines = [
        'wrk.method = "POST"',
        f'local f = io.open("{body_file}", "rb"); wrk.body = f:read("*a"); f:close()',
        'wrk.headers["Content-Type"] = "application/json"',
        *(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()),
    ]
    script.write_text("\n".join(lines) + "\n")
    out = subprocess.run(
        [
            "wrk",
            "-t1",  # one load thread: leaves the server the other core
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests_per_s": rps,
        "p50_ms": _seconds(pct["50"]) * 1000,
        "p99_ms": _seconds(pct["99"]) * 1000,
        "errors": int(non2xx.group(1)) if non2xx else 0,
    }


def load_test(
    argv: list[str],
    env: dict[str, str],
    port: int,
    ready: str,
    path: str,
    cases: list[tuple[str, Path, dict[str, str], int]],
    seconds: int,
    tmp: Path,
) -> list[tuple[str, dict]]:
    """Start one server, run wrk for each case against it, stop it."""
    server = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait(f"http://127.0.0.1:{port}{ready}", server)
        url = f"http://127.0.0.1:{port}{path}"
        return [
            (name, wrk(url, body, headers, seconds, tmp, connections=c))
            for name, body, headers, c in cases
        ]
    finally:
        server.terminate()
        server.wait(30)


def profile(model_folder: Path, nested: list[dict]) -> list[dict]:
    """Median time of each stage of one request (in process, 1 and 1,000 claims)."""
    from serving.schemas import ScoreRequest, claim_columns, contract_problems
    from serving.state import load
    from training.scoring import score_valid

    model = load(str(model_folder)).model
    rows = []
    for size, reps in ((1, 300), (1000, 7)):
        body = {"claims": nested[:size], "explain": "none"}
        stages: dict[str, list[float]] = {}
        for _ in range(reps):
            t0 = time.perf_counter()
            request = ScoreRequest.model_validate(body)
            t1 = time.perf_counter()
            contract_problems(request.claims)
            header, lines = claim_columns(request.claims)
            t2 = time.perf_counter()
            x = model.features(header, lines)
            t3 = time.perf_counter()
            p = model.denial_probability(x)
            t4 = time.perf_counter()
            model.category_probabilities(x)
            t5 = time.perf_counter()
            model.denial_contributions(x)
            t6 = time.perf_counter()
            out = score_valid(model, header, lines, "none")
            t7 = time.perf_counter()
            json.dumps(out)
            t8 = time.perf_counter()
            for name, dt in (
                ("validate (pydantic)", t1 - t0),
                ("cross-field rules + to columns", t2 - t1),
                ("features", t3 - t2),
                ("denial predict", t4 - t3),
                ("category predict", t5 - t4),
                ("SHAP pred_contrib (if explained)", t6 - t5),
                ("score() total, no explanations", t7 - t6),
                ("JSON encode", t8 - t7),
            ):
                stages.setdefault(name, []).append(dt)
            del p
        for name, times in stages.items():
            rows.append(
                {"claims": size, "stage": name, "median_ms": statistics.median(times) * 1e3}
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=300_000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    parser.add_argument("--model", type=Path, default=None, help="existing bundle folder")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    bindir = Path(sys.executable).parent
    claimrisk = str(bindir / "claimrisk")
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        uri = f"sqlite:///{tmp}/mlflow.db"
        data = tmp / "world"
        run_once(
            [
                claimrisk,
                "generate",
                "--claims",
                str(args.claims),
                "--seed",
                "99",
                "--out",
                str(data),
            ]
        )
        folder = args.model
        if folder is None:
            folder = tmp / "model"
            run_once(
                [
                    claimrisk,
                    "train",
                    "--data",
                    str(data),
                    "--out",
                    str(folder),
                    "--tracking-uri",
                    uri,
                ]
            )
        meta = json.loads((folder / "metadata.json").read_text())
        model_uri, uri = meta["model_uri"], meta["tracking_uri"]
        nested, flat = claim_bodies(data, 1000)
        one_flat = [r for r in flat if r["claim_id"] == nested[0]["claim_id"]]
        bodies = {
            "claimrisk 1 claim, explain=none": {"claims": nested[:1], "explain": "none"},
            "claimrisk 1 claim, explain=all": {"claims": nested[:1], "explain": "all"},
            "claimrisk 1,000 claims, explain=none": {"claims": nested, "explain": "none"},
            "claimrisk 1,000 claims, explain=flagged": {"claims": nested, "explain": "flagged"},
            "mlflow 1 claim": {"dataframe_records": one_flat},
            "mlflow 1,000 claims": {"dataframe_records": flat},
        }
        files = {}
        for i, (name, body) in enumerate(bodies.items()):
            files[name] = tmp / f"body{i}.json"
            files[name].write_text(json.dumps(body))

        auth = {"X-API-Key": KEY}
        ours = [(n, files[n], auth, CONCURRENCY) for n in bodies if n.startswith("claimrisk")]
        # a 1,000-claim request end to end, alone (not queued behind 7 others)
        ours.append(
            (
                "claimrisk 1,000 claims, none, c=1",
                files["claimrisk 1,000 claims, explain=none"],
                auth,
                1,
            )
        )
        theirs = [(n, files[n], {}, CONCURRENCY) for n in bodies if n.startswith("mlflow")]
        samples: dict[str, list[dict]] = {}
        for _ in range(args.rounds):  # interleaved rounds: noise hits both servers alike
            port = _port()
            argv = [claimrisk, "serve", "--model", str(folder), "--port", str(port)]
            server_env = {**env, "CLAIMRISK_API_KEYS": KEY}
            for name, result in load_test(
                argv, server_env, port, "/readyz", "/v1/claims/score", ours, args.seconds, tmp
            ):
                samples.setdefault(name, []).append(result)
            port = _port()
            argv = [
                str(bindir / "mlflow"),
                "models",
                "serve",
                "-m",
                model_uri,
                "--env-manager",
                "local",
                "-p",
                str(port),
                "-w",
                "1",
            ]
            server_env = {**env, "MLFLOW_TRACKING_URI": uri}
            for name, result in load_test(
                argv, server_env, port, "/ping", "/invocations", theirs, args.seconds, tmp
            ):
                samples.setdefault(name, []).append(result)
        rows = [
            {
                "case": name,
                **{k: statistics.median(r[k] for r in runs) for k in runs[0]},
                "rounds": len(runs),
            }
            for name, runs in samples.items()
        ]
        stages = profile(folder, nested)

    by = {r["case"]: r for r in rows}
    ratios = {
        "1 claim, no explanations vs mlflow": by["claimrisk 1 claim, explain=none"][
            "requests_per_s"
        ]
        / by["mlflow 1 claim"]["requests_per_s"],
        "1 claim, explanations vs mlflow": by["claimrisk 1 claim, explain=all"]["requests_per_s"]
        / by["mlflow 1 claim"]["requests_per_s"],
        "1,000 claims, no explanations vs mlflow": by["claimrisk 1,000 claims, explain=none"][
            "requests_per_s"
        ]
        / by["mlflow 1,000 claims"]["requests_per_s"],
    }
    print(f"median of {args.rounds} interleaved rounds, wrk -c{CONCURRENCY}, {args.seconds} s each")
    print(f"{'case':<42} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'non-2xx':>8}")
    for r in rows:
        print(
            f"{r['case']:<42} {r['requests_per_s']:>9.1f} {r['p50_ms']:>9.2f} "
            f"{r['p99_ms']:>9.2f} {r['errors']:>8}"
        )
    print()
    for k, v in ratios.items():
        print(f"throughput ratio, {k}: {v:.1f}x")
    print("\nwhere the time goes (in process, median ms per request):")
    for s in stages:
        print(f"  {s['claims']:>5} claims  {s['stage']:<34} {s['median_ms']:>8.2f}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "serve.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": "serve",
                "concurrency": CONCURRENCY,
                "seconds": args.seconds,
                "cpus": os.cpu_count(),
                "results": rows,
                "ratios": ratios,
                "profile": stages,
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
