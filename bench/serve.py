"""Benchmark: claimrisk's API against ``mlflow models serve`` and against an earlier claimrisk.

One run, same machine, one worker each, servers started one at a time on 127.0.0.1 and rounds
interleaved: wrk (``apt-get install wrk``) posts 1-claim and 1,000-claim requests at concurrency
8 (explanations off, all, flagged), a 1-claim request alone (c=1), and a 1-claim request alone
while another client posts 10,000-claim ``explain=all`` batches back to back. ``--baseline REV``
serves the code at a git revision (a worktree, its own bundle trained on the same data) beside
today's, so a change is judged side by side. Then a stage profile of one request of each size,
in process, shows where the time goes.

Goals, one worker: 1-claim without explanations ≥ 8× mlflow's throughput with p99 ≤ 15 ms; with
explanations ≥ 3× mlflow's; a 1,000-claim request without explanations in ≤ 100 ms end to end;
the 1-claim p99 beside heavy explained batches at most 2× its p99 alone.

    python -m bench.serve [--claims 300000] [--seconds 8] [--rounds 3] [--model models/NAME]
                          [--baseline 449cff7] [--no-mlflow]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

from bench.harness import RESULTS, run_once

KEY = "bench-key"
CONCURRENCY = 8
#: Clients posting 10,000-claim explained batches at once, beside the 1-claim measurement.
BACKGROUND_CLIENTS = 2


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


Case = tuple[str, Path, dict[str, str], int, Path | None]


def load_test(
    argv: list[str],
    env: dict[str, str],
    port: int,
    ready: str,
    path: str,
    cases: list[Case],
    seconds: int,
    tmp: Path,
) -> list[tuple[str, dict]]:
    """Start one server, run wrk for each case against it, stop it.

    A case with a background body is measured while another client posts that body in a loop
    (one request at a time): the small-request latency under a heavy batch load.
    """
    server = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait(f"http://127.0.0.1:{port}{ready}", server)
        url = f"http://127.0.0.1:{port}{path}"
        out = []
        for name, body, headers, c, background in cases:
            with _posting(url, background, headers, seconds + 30) as statuses:
                result = wrk(url, body, headers, seconds, tmp, connections=c)
            if background is not None:  # the load must have been real: count it, 2xx only
                result["background_requests"] = len(statuses)
                result["background_non_2xx"] = sum(not 200 <= s < 300 for s in statuses)
            out.append((name, result))
            _drain(url, body, headers)
        return out
    finally:
        server.terminate()
        server.wait(30)


def _drain(url: str, body: Path, headers: dict[str, str]) -> None:
    """Wait until the requests wrk left in flight are done: one more of the same queues behind
    them, so the next case is not measured against the last one's leftovers."""
    httpx.post(
        url,
        content=body.read_bytes(),
        headers={**headers, "content-type": "application/json"},
        timeout=300,
    )


@contextlib.contextmanager
def _posting(url: str, body: Path | None, headers: dict[str, str], limit: float):
    """Post ``body`` to ``url`` back to back from ``BACKGROUND_CLIENTS`` threads until the block
    ends (or ``limit`` s)."""
    statuses: list[int] = []
    if body is None:
        yield statuses
        return
    stop = threading.Event()
    data = body.read_bytes()

    def loop() -> None:
        end = time.time() + limit
        with httpx.Client(timeout=600) as client:  # batches queue in the bounded pool
            while not stop.is_set() and time.time() < end:
                try:
                    r = client.post(
                        url, content=data, headers={**headers, "content-type": "application/json"}
                    )
                    statuses.append(r.status_code)
                except httpx.HTTPError:
                    statuses.append(0)

    workers = [threading.Thread(target=loop, daemon=True) for _ in range(BACKGROUND_CLIENTS)]
    for worker in workers:
        worker.start()
    time.sleep(1.0)  # the first heavy batches are in flight before measuring
    try:
        yield statuses
    finally:
        stop.set()
        for worker in workers:  # the batches in flight finish before the next case starts
            worker.join(600)


def baseline_server(rev: str, data: Path, tmp: Path, env: dict[str, str]) -> tuple[list[str], dict]:
    """claimrisk as it was at ``rev`` (a git worktree), with a bundle trained by that code on
    the same data: the server to compare with, side by side in the same run."""
    tree = tmp / "baseline"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(tree), rev], check=True, capture_output=True
    )
    cli = [sys.executable, "-c", "from serving.cli import app; app()"]
    base_env = {**env, "PYTHONPATH": str(tree)}
    folder = tmp / "baseline-model"
    run_once(
        [
            *cli,
            "train",
            "--data",
            str(data),
            "--out",
            str(folder),
            "--tracking-uri",
            f"sqlite:///{tmp}/baseline-mlflow.db",
        ],
        env=base_env,
    )
    return [*cli, "serve", "--model", str(folder)], base_env


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


def _bodies(data: Path, tmp: Path) -> dict[str, Path]:
    nested, flat = claim_bodies(data, 10_000)
    one_flat = [r for r in flat if r["claim_id"] == nested[0]["claim_id"]]
    thousand = nested[-1000:]
    first_1000 = {r["claim_id"] for r in thousand}
    bodies = {
        "1 claim, explain=none": {"claims": nested[:1], "explain": "none"},
        "1 claim, explain=all": {"claims": nested[:1], "explain": "all"},
        "1,000 claims, explain=none": {"claims": thousand, "explain": "none"},
        "1,000 claims, explain=flagged": {"claims": thousand, "explain": "flagged"},
        "10,000 claims, explain=all": {"claims": nested, "explain": "all"},
        "mlflow 1 claim": {"dataframe_records": one_flat},
        "mlflow 1,000 claims": {
            "dataframe_records": [r for r in flat if r["claim_id"] in first_1000]
        },
    }
    files = {}
    for i, (name, body) in enumerate(bodies.items()):
        files[name] = tmp / f"body{i}.json"
        files[name].write_text(json.dumps(body))
    return files


def _cases(files: dict[str, Path], prefix: str, full: bool) -> list[Case]:
    """claimrisk's cases; ``full`` adds the large-batch ones (the baseline gets the small ones)."""
    auth = {"X-API-Key": KEY}
    one = files["1 claim, explain=none"]
    cases: list[Case] = [
        (f"{prefix} 1 claim, explain=none", one, auth, CONCURRENCY, None),
        (f"{prefix} 1 claim, explain=all", files["1 claim, explain=all"], auth, CONCURRENCY, None),
        (f"{prefix} 1 claim, c=1", one, auth, 1, None),
        (
            f"{prefix} 1 claim, c=1, beside 10,000-claim explain=all batches",
            one,
            auth,
            1,
            files["10,000 claims, explain=all"],
        ),
    ]
    if full:
        thousand = files["1,000 claims, explain=none"]
        cases += [
            (f"{prefix} 1,000 claims, explain=none", thousand, auth, CONCURRENCY, None),
            (
                f"{prefix} 1,000 claims, explain=flagged",
                files["1,000 claims, explain=flagged"],
                auth,
                CONCURRENCY,
                None,
            ),
            (f"{prefix} 1,000 claims, none, c=1", thousand, auth, 1, None),
        ]
    return cases


def _train(claimrisk: str, args: argparse.Namespace, tmp: Path) -> tuple[Path, Path]:
    data = tmp / "world"
    run_once(
        [claimrisk, "generate", "--claims", str(args.claims), "--seed", "99", "--out", str(data)]
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
                f"sqlite:///{tmp}/mlflow.db",
            ]
        )
    return data, folder


def _servers(args, claimrisk, bindir, env, data, folder, files, tmp) -> list[tuple]:
    """(argv, port flag, env, ready path, scoring path, cases) of every server in a round."""
    meta = json.loads((folder / "metadata.json").read_text())
    ours_env = {**env, "CLAIMRISK_API_KEYS": KEY}
    servers = [
        (
            [claimrisk, "serve", "--model", str(folder)],
            "--port",
            ours_env,
            "/readyz",
            "/v1/claims/score",
            _cases(files, "claimrisk", True),
        )
    ]
    if args.baseline:
        argv, base_env = baseline_server(args.baseline, data, tmp, ours_env)
        servers.append(
            (
                argv,
                "--port",
                base_env,
                "/readyz",
                "/v1/claims/score",
                _cases(files, f"baseline {args.baseline[:7]}", False),
            )
        )
    if not args.no_mlflow:
        mlflow = [
            str(bindir / "mlflow"),
            "models",
            "serve",
            "-m",
            meta["model_uri"],
            "--env-manager",
            "local",
            "-w",
            "1",
        ]
        theirs = [(n, files[n], {}, CONCURRENCY, None) for n in files if n.startswith("mlflow")]
        servers.append(
            (
                mlflow,
                "-p",
                {**env, "MLFLOW_TRACKING_URI": meta["tracking_uri"]},
                "/ping",
                "/invocations",
                theirs,
            )
        )
    return servers


def _rounds(servers: list[tuple], args: argparse.Namespace, tmp: Path) -> list[dict]:
    samples: dict[str, list[dict]] = {}
    for _ in range(args.rounds):  # interleaved rounds: noise hits every server alike
        for argv, port_flag, server_env, ready, path, cases in servers:
            port = _port()
            for name, result in load_test(
                [*argv, port_flag, str(port)],
                server_env,
                port,
                ready,
                path,
                cases,
                args.seconds,
                tmp,
            ):
                samples.setdefault(name, []).append(result)
    return [
        {
            "case": name,
            **{k: statistics.median(r[k] for r in runs) for k in runs[0]},
            "rounds": len(runs),
        }
        for name, runs in samples.items()
    ]


def _ratios(rows: list[dict], baseline: str | None) -> dict[str, float]:
    by = {r["case"]: r for r in rows}

    def rps(case: str) -> float:
        return by[case]["requests_per_s"]

    out = {}
    if "mlflow 1 claim" in by:
        out["1 claim, no explanations vs mlflow (throughput)"] = rps(
            "claimrisk 1 claim, explain=none"
        ) / rps("mlflow 1 claim")
        out["1 claim, explanations vs mlflow (throughput)"] = rps(
            "claimrisk 1 claim, explain=all"
        ) / rps("mlflow 1 claim")
        out["1,000 claims, no explanations vs mlflow (throughput)"] = rps(
            "claimrisk 1,000 claims, explain=none"
        ) / rps("mlflow 1,000 claims")
    quiet = by["claimrisk 1 claim, c=1"]["p99_ms"]
    loaded = by["claimrisk 1 claim, c=1, beside 10,000-claim explain=all batches"]["p99_ms"]
    out["1-claim p99 beside 10,000-claim explained batches / alone"] = loaded / quiet
    if baseline:
        base = f"baseline {baseline[:7]}"
        for case in ("1 claim, explain=none", "1 claim, explain=all", "1 claim, c=1"):
            out[f"{case}: throughput vs baseline"] = rps(f"claimrisk {case}") / rps(
                f"{base} {case}"
            )
        out["1 claim, explain=none: p99 vs baseline"] = (
            by["claimrisk 1 claim, explain=none"]["p99_ms"]
            / by[f"{base} 1 claim, explain=none"]["p99_ms"]
        )
        out["1-claim p99 beside batches: vs baseline"] = (
            loaded / by[f"{base} 1 claim, c=1, beside 10,000-claim explain=all batches"]["p99_ms"]
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=300_000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    parser.add_argument("--model", type=Path, default=None, help="existing bundle folder")
    parser.add_argument("--baseline", help="a git revision to serve side by side (its own bundle)")
    parser.add_argument("--no-mlflow", action="store_true", help="skip mlflow models serve")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    bindir = Path(sys.executable).parent
    claimrisk = str(bindir / "claimrisk")
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        try:
            data, folder = _train(claimrisk, args, tmp)
            files = _bodies(data, tmp)
            servers = _servers(args, claimrisk, bindir, env, data, folder, files, tmp)
            rows = _rounds(servers, args, tmp)
            nested = json.loads(files["1,000 claims, explain=none"].read_text())["claims"]
            stages = profile(folder, nested)
        finally:
            subprocess.run(["git", "worktree", "prune"], check=False, capture_output=True)
    ratios = _ratios(rows, args.baseline)
    _print(rows, ratios, stages, args)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "serve.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": "serve",
                "concurrency": CONCURRENCY,
                "seconds": args.seconds,
                "rounds": args.rounds,
                "baseline": args.baseline,
                "cpus": os.cpu_count(),
                "results": rows,
                "ratios": ratios,
                "profile": stages,
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


def _print(rows: list[dict], ratios: dict, stages: list[dict], args: argparse.Namespace) -> None:
    print(f"median of {args.rounds} interleaved rounds, wrk, {args.seconds} s each")
    print(f"{'case':<68} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>7}")
    for r in rows:
        print(
            f"{r['case']:<68} {r['requests_per_s']:>8.1f} {r['p50_ms']:>8.2f} "
            f"{r['p99_ms']:>8.2f} {r['errors']:>7}"
        )
        if "background_requests" in r:
            print(
                f"{'':<4}(beside it, {BACKGROUND_CLIENTS} clients: "
                f"{r['background_requests']:.0f} batches of 10,000 claims "
                f"explained, {r['background_non_2xx']:.0f} not 2xx)"
            )
    print()
    for k, v in ratios.items():
        print(f"ratio, {k}: {v:.2f}")
    print("\nwhere the time goes (in process, median ms per request):")
    for st in stages:
        print(f"  {st['claims']:>5} claims  {st['stage']:<34} {st['median_ms']:>8.2f}")


if __name__ == "__main__":
    main()
