"""The monitoring pass as a readable HTML page (one file, no assets: it is mailed and archived)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from training.monitor.report import RECENT_DAYS

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def render(result: dict[str, Any]) -> str:
    """The page of one ``training.monitor.report.monitor`` result."""
    template = _ENV.get_template("report.html")
    return template.render(r=result, recent_days=RECENT_DAYS, fmt=_fmt, pct=_pct)
