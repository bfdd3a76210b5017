"""``claimrisk replay``: a generated world played forward day by day through the real interfaces.

Each day of the last ``days`` of the world's submissions:

1. the day's claims are written as an 837 and scored before submission (``score_x12``), and the
   high-risk ones counted: what prevention could reach;
2. the 837 and the day's first-pass 835 are loaded into each arm's store (``store.load``), so
   denials join each arm's worklist, ranked by the model (``store.worklist.rank``);
3. unworked items past their deadline expire; appeals filed ``DECISION_DAYS`` ago are decided
   by the world's truth (the same random draw for a claim in every arm);
4. a team of fixed daily capacity (hours) works each arm's queue in that arm's order, filing an
   appeal or corrected claim for each item it takes.

Arms: ``model`` (the model's ranking: the ``--db`` store), ``fifo`` (oldest denial first, every
item worked) and ``oracle`` (ranked by the truth's recovery odds and dollars: the ceiling).
Dollars recovered by the world's own appeals are not replayed: each arm's team files its own.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select, update

from features.io import load_dataset, read_truth
from features.x12.ingest import ingest
from features.x12.write import write_835, write_837
from store import worklist
from store.db import engine
from store.load import load_x12
from store.migrate import upgrade
from store.schema import worklist_items as items

#: Days from filing an appeal (or corrected claim) to the payer's decision.
DECISION_DAYS = 30
ARMS = ("model", "fifo", "oracle")
TEAM = "replay:team"
Echo = Callable[[str], None]


@dataclass
class Day:
    day: dt.date
    claims: int = 0
    flagged: int = 0
    denied: dict[str, float] = field(default_factory=dict)
    recovered: dict[str, float] = field(default_factory=dict)
    expired: dict[str, int] = field(default_factory=dict)
    hours: dict[str, float] = field(default_factory=dict)


@dataclass
class Arm:
    name: str
    store: Engine
    sort: str  # store.worklist.SORTS key
    filed: dict[int, dt.date] = field(default_factory=dict)  # item id → decision day


def _world(folder: Path, days: int) -> tuple[dict, pd.DataFrame, list[dt.date]]:
    tables, _ = load_dataset(folder)
    truth = read_truth(folder)
    if truth is None:
        raise ValueError(f"{folder} has no truth.parquet: replay needs a generated world")
    end = tables["claims"]["submission_date"].max().date()
    calendar = [end - dt.timedelta(days=days - 1 - i) for i in range(days)]
    return tables, truth.set_index("claim_id"), calendar


def _day_files(tables: dict, day: dt.date, folder: Path, control: int) -> list[Path]:
    """The day's 837 (claims submitted) and 835 (first-pass remits dated that day)."""
    ts = pd.Timestamp(day)
    claims = tables["claims"]
    sent = claims[claims["submission_date"] == ts]
    remits = tables["remits"]
    first = remits[~remits["remit_id"].str.endswith("-2") & (remits["remit_date"] == ts)]
    subset = _subset(tables, sent, first)
    when = dt.datetime.combine(day, dt.time(18, 0))
    paths = (
        write_837(subset, folder, control=control, when=when, prefix=f"{day}") if len(sent) else []
    )
    if len(first):
        paths.append(
            write_835(subset, folder, control=control + 2, when=when, name=f"{day}_835.x12")
        )
    return paths


def _oracle_order(conn, truth: pd.DataFrame) -> None:
    """The oracle arm's order and next steps: the model's rules, fed the truth's odds and
    dollars instead of the model's."""
    from training.worklist import effort_hours, value_band

    rows = conn.execute(
        select(items.c.id, items.c.claim_id, items.c.category).where(
            items.c.status.in_(worklist.OPEN)
        )
    ).all()
    if not rows:
        return
    t = truth.loc[[r.claim_id for r in rows]]
    cats = np.array([r.category for r in rows], dtype=object)
    band = value_band(
        t["overturn_probability"].to_numpy() * t["recoverable_amount"].to_numpy(),
        effort_hours(cats),
    )
    for r, b in zip(rows, band, strict=True):
        key = int(-b) if math.isfinite(b) else worklist.UNRANKED
        conn.execute(update(items).where(items.c.id == r.id).values(priority_key=key))


def _decide(arm: Arm, day: dt.date, truth: pd.DataFrame, draw: dict[str, float]) -> float:
    """Appeals due today are decided by the truth; returns the dollars recovered."""
    due = [i for i, d in arm.filed.items() if d == day]
    recovered = 0.0
    with arm.store.begin() as conn:
        for item_id in due:
            item = dict(conn.execute(select(items).where(items.c.id == item_id)).mappings().one())
            del arm.filed[item_id]
            if item["status"] != "appealed":
                continue
            t = truth.loc[item["claim_id"]]
            won = draw[item["claim_id"]] < t["overturn_probability"]
            amount = float(t["recoverable_amount"]) if won else 0.0
            values = {"status": "won" if won else "lost", "recovered_amount": amount}
            worklist.change(conn, item, values, "replay:payer", "appeal decided")
            recovered += amount
    return recovered


def _work(arm: Arm, day: dt.date, hours: float) -> float:
    """The team works the queue in the arm's order until its hours are spent."""
    spent = 0.0
    with arm.store.begin() as conn:
        queue = worklist.page(conn, {"status": ["open"]}, arm.sort, None, 100_000)
        for item in queue:
            effort = item["effort_hours"] or 1.0
            if arm.name != "fifo" and item["next_step"] == "write_off":
                continue
            if spent + effort > hours:
                break
            worklist.move(conn, item, TEAM, status="appealed")
            arm.filed[item["id"]] = day + dt.timedelta(days=DECISION_DAYS)
            spent += effort
    return spent


def history_before(tables: dict[str, pd.DataFrame], day: dt.date) -> dict[str, pd.DataFrame]:
    """What the practice knew before ``day``: claims sent, remits received and appeals decided
    before it. Train on this, then replay from ``day``, and no outcome of the replay leaks."""
    ts = pd.Timestamp(day)
    claims = tables["claims"][tables["claims"]["submission_date"] < ts]
    remits = tables["remits"][
        (tables["remits"]["remit_date"] < ts)
        & tables["remits"]["claim_id"].isin(claims["claim_id"])
    ]
    appeals = tables["appeals"]
    decided = appeals["resolved_date"].notna() & (appeals["resolved_date"] < ts)
    return {
        **_subset(tables, claims, remits),
        "appeals": appeals[decided & appeals["claim_id"].isin(remits["claim_id"])],
    }


def _subset(tables: dict, claims: pd.DataFrame, remits: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """``tables`` cut to these claims and remits, with their lines and codes."""

    def of(name: str, key: str, keep: pd.Series) -> pd.DataFrame:
        return tables[name][tables[name][key].isin(keep)]

    return {
        **tables,
        "claims": claims,
        "claim_lines": of("claim_lines", "claim_id", claims["claim_id"]),
        "remits": remits,
        "remit_adjustments": of("remit_adjustments", "remit_id", remits["remit_id"]),
        "remit_remarks": of("remit_remarks", "remit_id", remits["remit_id"]),
    }


def _quiet(_: str) -> None:
    pass


def replay(
    world: Path,
    db: str,
    days: int,
    model,
    model_version: str,
    hours_per_day: float,
    echo: Echo = print,
) -> list[Day]:
    """Play the world's last ``days`` days; returns one row per day (see the module)."""
    from training.scoring import score_x12

    tables, truth, calendar = _world(world, days)
    draw = dict(zip(truth.index, np.random.default_rng(0).random(len(truth)), strict=True))
    work = Path(tempfile.mkdtemp(prefix="claimrisk-replay-"))
    urls = {
        "model": db,
        "fifo": f"sqlite:///{work / 'fifo.db'}",
        "oracle": f"sqlite:///{work / 'oracle.db'}",
    }
    arms = [Arm(name, engine(urls[name]), "age" if name == "fifo" else "priority") for name in ARMS]
    for arm in arms:
        upgrade(arm.store)
    out = []
    for i, day in enumerate(calendar):
        row = Day(day)
        paths = _day_files(tables, day, work / "x12", control=10_000 + 4 * i)
        claims_837 = [p for p in paths if "837" in p.name]
        if claims_837:
            scored = score_x12(model, ingest(claims_837), "none").scored.scores
            row.claims, row.flagged = len(scored), sum(s["risk_band"] == "high" for s in scored)
        for arm in arms:
            report = load_x12(arm.store, paths, "replay:load", _quiet)
            with arm.store.begin() as conn:
                worklist.store_day(conn, day)
                row.expired[arm.name] = worklist.expire(conn, day)
                worklist.rank(conn, model, day, model_version)
                if arm.name == "oracle":
                    _oracle_order(conn, truth)
            row.denied[arm.name] = _denied_today(arm, report.items_new)
            row.recovered[arm.name] = _decide(arm, day, truth, draw)
            row.hours[arm.name] = _work(arm, day, hours_per_day)
        out.append(row)
        echo(_line(row))
    return out


def _denied_today(arm: Arm, new: int) -> float:
    if not new:
        return 0.0
    with arm.store.connect() as conn:
        rows = conn.execute(select(items.c.denied_amount).order_by(items.c.id.desc()).limit(new))
        return float(sum(r.denied_amount for r in rows))


def _line(row: Day) -> str:
    arms = "  ".join(
        f"{a}: +${row.recovered.get(a, 0):,.0f} {row.expired.get(a, 0)} exp "
        f"{row.hours.get(a, 0):.1f} h"
        for a in ARMS
    )
    return (
        f"{row.day}  {row.claims:>5} claims ({row.flagged} high)  "
        f"denied ${row.denied.get('model', 0):,.0f}  {arms}"
    )


def totals(rows: list[Day]) -> dict[str, dict[str, float]]:
    """Per arm: dollars denied and recovered, items expired, hours worked, over the replay."""
    return {
        arm: {
            "dollars_denied": round(sum(r.denied.get(arm, 0) for r in rows), 2),
            "dollars_recovered": round(sum(r.recovered.get(arm, 0) for r in rows), 2),
            "items_expired": sum(r.expired.get(arm, 0) for r in rows),
            "hours_worked": round(sum(r.hours.get(arm, 0) for r in rows), 2),
        }
        for arm in ARMS
    }
