"""Prometheus metrics and the guard every request passes: body limit, timing, last-resort 500.

``Guard`` is the outermost middleware of our own: it counts every response by path and status
(5xx included, with its latency), refuses bodies over the limit whether they declare a length or
arrive chunked (413), and turns any exception that escaped the app into a 500 whose log line
names only the exception's type, never its message or traceback (both may quote a claim).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.errors import TooLarge

log = logging.getLogger("claimrisk.serving")
KNOWN_PATHS = frozenset(
    {
        "/v1/claims/score",
        "/v1/worklist/rank",
        "/v1/model",
        "/v1/admin/reload",
        "/healthz",
        "/readyz",
        "/metrics",
    }
)


#: The monitor's gauges: (name, help, labels). Set from the latest pass kept in the store.
MONITOR_GAUGES = (
    ("as_of_timestamp_seconds", "Day the latest monitoring pass was run as of", []),
    ("estimated_roc_auc", "ROC AUC expected on the last 30 days' claims", []),
    ("realised_roc_auc", "ROC AUC on the last 30 days' claims decided so far", []),
    ("estimated_denial_rate", "Denial rate expected on the last 30 days' claims", []),
    ("alerts", "Payer-behaviour alerts in the latest pass", []),
    ("alert", "A payer-behaviour alert (value 1)", ["payer_id", "category", "kind"]),
    ("feature_psi", "PSI of a judged input, recent claims vs the training window", ["feature"]),
    ("prediction_psi", "PSI of a prediction, recent claims vs the training window", ["what"]),
    ("outcome_mix_psi", "PSI of a payer's denial reason mix in recent remits", ["payer_id"]),
)


def pd_timestamp(day: str) -> float:
    """Seconds since the epoch of an ISO day (midnight UTC)."""
    return dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC).timestamp()


class Metrics:
    """The service's Prometheus metrics, on a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "claimrisk_requests", "HTTP requests", ["path", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "claimrisk_request_seconds",
            "Request latency by path and status",
            ["path", "status"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.claims = Counter("claimrisk_claims_scored", "Claims scored", registry=self.registry)
        self.scores = Histogram(
            "claimrisk_denial_probability",
            "Denial probabilities returned",
            buckets=(0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9, 1.0),
            registry=self.registry,
        )
        self.model = Gauge(
            "claimrisk_model_info", "Loaded model (value 1)", ["version"], registry=self.registry
        )
        self.reloads = Counter(
            "claimrisk_model_reloads", "Reload attempts", ["outcome"], registry=self.registry
        )

        self.monitor_run = None  # id of the monitoring pass the gauges below show
        self.monitor = {
            name: Gauge(f"claimrisk_monitor_{name}", text, labels, registry=self.registry)
            for name, text, labels in MONITOR_GAUGES
        }

    def set_monitor(self, run: dict) -> None:
        """Show a monitoring pass (``store.monitoring.latest_run``) on the monitor gauges."""
        for gauge in self.monitor.values():
            gauge.clear()
        g = self.monitor
        g["as_of_timestamp_seconds"].set(pd_timestamp(run["as_of"]))
        recent = run["performance"]["recent"]
        for name in ("estimated_roc_auc", "realised_roc_auc", "estimated_denial_rate"):
            if recent.get(name) is not None:
                g[name].set(recent[name])
        for a in run["alerts"]:
            g["alert"].labels(a["payer_id"], a["category"] or "", a["kind"]).set(1)
        g["alerts"].set(len(run["alerts"]))
        drift = run["drift"]
        for f in drift.get("features", []):
            g["feature_psi"].labels(f["feature"]).set(f["psi"])
        for name, value in drift.get("prediction", {}).items():
            g["prediction_psi"].labels(name.removesuffix("_psi")).set(value)
        for payer in drift.get("payers", []):
            value = payer["outcomes"]["reason_mix_psi"]
            if value is not None:
                g["outcome_mix_psi"].labels(payer["payer_id"]).set(value)
        self.monitor_run = run["run_id"]

    def set_model(self, version: str) -> None:
        self.model.clear()
        self.model.labels(version=version).set(1)


class Guard:
    """ASGI middleware: body limit (413), request metrics, and a 500 that leaks nothing."""

    def __init__(self, app: ASGIApp, max_bytes: int, metrics: Metrics) -> None:
        self.app, self.max_bytes, self.metrics = app, max_bytes, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        state = {"status": 500, "started": False}
        path = scope["path"] if scope["path"] in KNOWN_PATHS else "other"

        seen, overflow = 0, False

        async def send_wrapper(message: Message) -> None:
            # Once the body overflowed, whatever the app answers (FastAPI calls a body it could
            # not read a 400) is replaced by the 413 the caller needs to see.
            if overflow:
                if message["type"] == "http.response.start" and not state["started"]:
                    await self._answer(send, 413, self._too_large_detail())
                    state["status"], state["started"] = 413, True
                return
            if message["type"] == "http.response.start":
                state["status"], state["started"] = message["status"], True
            await send(message)

        declared = dict(scope.get("headers") or []).get(b"content-length", b"")

        async def limited() -> Message:
            nonlocal seen, overflow
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                overflow = True
                raise TooLarge(self._too_large_detail())
            return message

        try:
            if declared.isdigit() and int(declared) > self.max_bytes:
                await self._answer(send_wrapper, 413, self._too_large_detail())
            else:
                await self.app(scope, limited, send_wrapper)
        except TooLarge as exc:  # raised while the body was read outside a route
            if not state["started"]:
                await self._answer(send, 413, exc.detail)
                state["status"], state["started"] = 413, True
        except Exception as exc:
            log.error("internal error on %s: %s", path, type(exc).__name__)
            if not state["started"]:
                await self._answer(send_wrapper, 500, "internal error; see server log")
        finally:
            status = str(state["status"])
            self.metrics.requests.labels(path=path, status=status).inc()
            self.metrics.latency.labels(path=path, status=status).observe(
                time.perf_counter() - began
            )

    def _too_large_detail(self) -> str:
        return f"request body larger than {self.max_bytes} bytes: send fewer claims per request"

    @staticmethod
    async def _answer(send: Send, status: int, detail: str) -> None:
        body = json.dumps({"detail": detail}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
