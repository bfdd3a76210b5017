"""Data commands: ``claimrisk generate``, ``claimrisk validate``, ``claimrisk docs``.

Each command parses its options, calls one library function and prints; the work lives in the
modules it calls.
"""

from __future__ import annotations

import time
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from features import engine_options as eo
from features.contract import TRUTH
from features.generate import SCENARIOS, WorldConfig, generate
from features.generate.calibration import measure
from features.io import validate_folder, write_dataset
from features.partitions import MONTHS, FolderMonths, is_partitioned


class FileFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"


Scenario = StrEnum("Scenario", {s.replace("-", "_"): s for s in SCENARIOS})


def generate_command(
    claims: Annotated[int, typer.Option("--claims", min=1, help="Number of claims.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 0,
    out: Annotated[Path, typer.Option(help="Folder to write the tables to.")] = Path(
        "data/synthetic"
    ),
    fmt: Annotated[FileFormat, typer.Option("--format", help="File format.")] = FileFormat.parquet,
    start: Annotated[
        datetime, typer.Option(formats=["%Y-%m-%d"], help="First submission date.")
    ] = datetime(2024, 1, 1),
    months: Annotated[int, typer.Option(min=1, help="Months of submissions.")] = 24,
    scenario: Annotated[
        Scenario,
        typer.Option(
            help="'payer-policy-change': payer COM01 starts requiring prior auth for therapy codes "
            "half-way through."
        ),
    ] = Scenario.none,  # type: ignore[attr-defined]
    realtime_eligibility: Annotated[
        bool,
        typer.Option(
            help="Also write, for every claim, the 271 of a real-time eligibility check run at "
            "submission (what scoring with an inline check sees)."
        ),
    ] = False,
    partitioned: Annotated[
        bool,
        typer.Option(
            help="Draw and write one submission month at a time, as a dataset partitioned by "
            "month (Parquet; memory does not grow with --claims; what --engine dask reads)."
        ),
    ] = False,
) -> None:
    """Generate a synthetic claims world: claims, lines, remits, adjustments, appeals, the
    eligibility responses the offices received + truth."""
    began = time.perf_counter()
    cfg = WorldConfig(
        n_claims=claims,
        seed=seed,
        start=start.date(),
        months=months,
        scenario=scenario.value,
        realtime_eligibility=realtime_eligibility,
    )
    if partitioned and fmt is not FileFormat.parquet:
        typer.echo("error: a partitioned dataset is written as Parquet; drop --format", err=True)
        raise typer.Exit(2)
    if partitioned:
        _generate_partitioned(cfg, out, began)
        return
    tables, truth = generate(cfg)
    try:
        write_dataset(tables, out, fmt.value, extra={"truth": (TRUTH, truth)})
    except OSError as exc:
        typer.echo(
            f"error: cannot write to {out}: {exc.strerror or exc}; pass a writable "
            "folder with --out",
            err=True,
        )
        raise typer.Exit(2) from None
    elapsed = time.perf_counter() - began
    typer.echo(summary(tables, f"{out} ({fmt.value}, seed {seed}, {elapsed:.1f} s)"))


def _generate_partitioned(cfg: WorldConfig, out: Path, began: float) -> None:
    from features.generate.by_month import generate_by_month

    try:
        rows = generate_by_month(cfg, out)
    except OSError as exc:
        typer.echo(f"error: cannot write to {out}: {exc.strerror or exc}; pass --out", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"wrote {out} (partitioned by submission month, seed {cfg.seed}, "
        f"{time.perf_counter() - began:.1f} s)\nrows: "
        + ", ".join(f"{k} {v:,}" for k, v in rows.items())
    )


def dataset_or_exit(data: Path) -> dict:
    """A dataset folder's tables, or the reason it is not one and exit status 1."""
    from features.io import DatasetError, load_dataset

    try:
        tables, _ = load_dataset(data)
    except (DatasetError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    return tables


def summary(tables: dict, where: str) -> str:
    """A one-screen summary of a dataset for a revenue-cycle reader."""
    claims = tables["claims"]
    m = measure(tables)
    lines = [f"wrote {where}"]
    lines.append("rows: " + ", ".join(f"{k} {len(v):,}" for k, v in tables.items()))
    lines.append(
        f"submissions {claims['submission_date'].min():%Y-%m-%d} to "
        f"{claims['submission_date'].max():%Y-%m-%d}; "
        f"billed ${claims['total_charge'].sum():,.0f}"
    )
    lines.append(
        f"first-pass denial rate {m['denial_rate.overall']:.1%}: "
        + ", ".join(
            f"{k.split('.', 1)[1]} {v:.1%}"
            for k, v in m.items()
            if k.startswith("denial_rate.") and k != "denial_rate.overall"
        )
    )
    mix = sorted(
        ((v, k.split(".", 1)[1]) for k, v in m.items() if k.startswith("reason_mix.")), reverse=True
    )
    lines.append("denial reasons: " + ", ".join(f"{k} {v:.0%}" for v, k in mix[:6]))
    if "appeal.overturn_rate" in m:
        lines.append(
            f"appeals: {len(tables['appeals']):,} filed; "
            f"{m.get('appeal.share_of_denials', float('nan')):.0%} of mature denials "
            f"appealed, {m['appeal.overturn_rate']:.0%} of decided appeals overturned"
        )
    return "\n".join(lines)


def validate_command(
    folder: Annotated[Path, typer.Argument(help="Dataset folder (parquet or csv tables).")],
    quarantine: Annotated[
        Path | None,
        typer.Option(
            help="Write the valid part here: bad rows and the claims they belong to removed "
            "and counted (a table-level problem still fails)."
        ),
    ] = None,
    engine: eo.EngineOption = eo.Engine.pandas,
    scheduler: eo.SchedulerOption = None,
    workers: eo.WorkersOption = eo.DEFAULT_WORKERS,
    memory_limit: eo.MemoryOption = "auto",
    spill_dir: eo.SpillOption = None,
) -> None:
    """Check a dataset folder against the data contract; exit 1 if any error is found (with
    --quarantine: exit 0 once the valid part is written, 1 if nothing could be kept)."""
    from features.io import DatasetError, load_dataset, write_dataset

    if is_partitioned(folder) or engine is eo.Engine.dask:
        if quarantine is not None:
            typer.echo(
                "error: --quarantine takes a dataset folder, not a partitioned one", err=True
            )
            raise typer.Exit(2)
        with eo.cluster_for(engine, scheduler, workers, memory_limit, spill_dir) as client:
            ok = _validate_months(folder, client)
        if not ok:
            raise typer.Exit(1)
        return
    try:
        if quarantine is None:
            _, report = validate_folder(folder)
        else:
            tables, report = load_dataset(folder, on_error="quarantine")
    except FileNotFoundError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except DatasetError as exc:
        typer.echo(exc.report.render())
        typer.echo("nothing quarantined: a table-level problem means no row can be trusted")
        raise typer.Exit(1) from None
    typer.echo(report.render())
    if quarantine is not None:
        write_dataset(tables, quarantine)
        typer.echo(f"wrote the valid part to {quarantine}")
    elif not report.ok:
        raise typer.Exit(1)


def _validate_months(folder: Path, client: Any) -> bool:
    """Each month of a partitioned dataset against the contract; prints what is wrong, by month."""
    from features.distributed import DaskRunner
    from features.monthly import EAGER

    data = FolderMonths(folder)
    try:
        months = data.months()
    except FileNotFoundError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    runner = EAGER if client is None else DaskRunner(client)
    reports = [runner.result(r) for r in [runner.submit(data.report, m) for m in months]]
    bad = [(m, r) for m, r in zip(months, reports, strict=True) if not r.ok]
    for month, report in bad:
        typer.echo(f"{MONTHS}/{month}:\n{report.render()}")
    claims = sum(r.rows_read.get("claims", 0) for r in reports)
    verdict = "valid" if not bad else f"INVALID: {len(bad)} of {len(months)} months"
    typer.echo(f"{folder}: {len(months)} months, {claims:,} claims; {verdict}")
    return not bad


def features_command(
    data: Annotated[Path, typer.Option(help="Dataset folder (parquet or csv tables).")],
    out: Annotated[
        Path,
        typer.Option(
            help="Parquet file to write the training matrix to (a folder, one file per month, "
            "for a partitioned dataset)."
        ),
    ],
    cutoff: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Ignore remits dated on or after this day (default: all remits in the data).",
        ),
    ] = None,
    engine: eo.EngineOption = eo.Engine.pandas,
    scheduler: eo.SchedulerOption = None,
    workers: eo.WorkersOption = eo.DEFAULT_WORKERS,
    memory_limit: eo.MemoryOption = "auto",
    spill_dir: eo.SpillOption = None,
) -> None:
    """Build the training matrix: one row per claim, point-in-time features and label_* columns."""
    from features.pipeline import take_training_matrix

    began = time.perf_counter()
    if is_partitioned(data) or engine is eo.Engine.dask:
        with eo.cluster_for(engine, scheduler, workers, memory_limit, spill_dir) as client:
            rows, pipeline = _features_by_month(data, out, cutoff, client)
        typer.echo(
            f"wrote {out}/months: {rows:,} claims x {len(pipeline.feature_names)} features, "
            f"one file per submission month; history as of {pipeline.cutoff_:%Y-%m-%d}; "
            f"{time.perf_counter() - began:.1f} s"
        )
        return
    matrix, pipeline = take_training_matrix(dataset_or_exit(data), cutoff)  # frees each table
    out.parent.mkdir(parents=True, exist_ok=True)
    matrix.to_parquet(out, index=False)
    labelled = matrix["label_denied"].notna()
    rate = matrix.loc[labelled, "label_denied"].mean()
    n_features = len(pipeline.get_feature_names_out())
    typer.echo(
        f"wrote {out}: {len(matrix):,} claims x {n_features} features ({labelled.sum():,} "
        f"labelled, denial rate {rate:.1%}); history as of {pipeline.cutoff_:%Y-%m-%d}; "
        f"{time.perf_counter() - began:.1f} s"
    )


def _features_by_month(data: Path, out: Path, cutoff: Any, client: Any) -> tuple[int, Any]:
    """The matrix of a partitioned dataset, month by month here or on the cluster."""
    from features.distributed import build_features
    from features.io import DatasetError
    from features.monthly import WriteRows, build_by_month

    try:
        if client is None:
            pipeline, counts = build_by_month(FolderMonths(data), cutoff, write=WriteRows(out))
            return int(sum(counts)), pipeline
        pipeline, rows = build_features(client, data, out, cutoff)
        return rows, pipeline
    except (DatasetError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def partition_command(
    data: Annotated[Path, typer.Option(help="Dataset folder (parquet or csv tables).")],
    out: Annotated[Path, typer.Option(help="Folder to write the partitioned dataset to.")],
) -> None:
    """Write a dataset partitioned by submission month (what --engine dask reads): each claim
    with its lines, remits and appeals under its month, each 271 under the month it was checked."""
    from features.partitions import write_partitioned

    tables = dataset_or_exit(data)
    months = write_partitioned(tables, out)
    typer.echo(f"wrote {out}: {len(tables['claims']):,} claims in {len(months)} months")


def docs_command(
    claims: Annotated[
        int, typer.Option(help="Claims to generate for the calibration table.")
    ] = 200_000,
    seed: Annotated[int, typer.Option(help="Seed for the calibration table.")] = 7,
    folder: Annotated[Path, typer.Option(help="The docs folder.")] = Path("docs"),
) -> None:
    """Regenerate docs/data-contract.md, docs/features.md and the calibration table."""
    from features.docs import (
        render_contract_markdown,
        render_features_markdown,
        update_calibration_section,
    )

    (folder / "data-contract.md").write_text(render_contract_markdown() + "\n")
    (folder / "features.md").write_text(render_features_markdown() + "\n")
    tables, _ = generate(WorldConfig(n_claims=claims, seed=seed))
    update_calibration_section(
        folder / "synthetic-data.md", tables, f"claimrisk docs --claims {claims} --seed {seed}"
    )
    typer.echo(
        f"wrote {folder / 'data-contract.md'} and the calibration table in "
        f"{folder / 'synthetic-data.md'}"
    )


def ingest_command(
    x12: Annotated[
        list[Path], typer.Option(help="X12 837/835 files or folders (repeat the option).")
    ],
    out: Annotated[Path, typer.Option(help="Dataset folder to write (CSV tables).")],
    max_mb: Annotated[int, typer.Option(help="Refuse files larger than this many MiB.")] = 512,
) -> None:
    """Read X12 837P/837I claims and 835 remits into contract tables, matched claim to remit.

    Exit status: 0 when everything was read; 1 when anything (a file, a transaction set, a
    claim or a remit) was rejected, the rest written; 2 when nothing could be read.
    """
    from features.io import validate_folder
    from features.x12.ingest import ingest, write_ingested

    result = ingest(x12, max_bytes=max_mb * 1024 * 1024)
    write_ingested(result, out)
    for f in result.files:
        typer.echo(_file_line(f))
        for note in f.tolerated:
            typer.echo(f"         tolerated: {note}")
        for r in f.rejected:
            typer.echo(f"         REJECTED {r.render()}")
    t = result.tables
    read = [f for f in result.files if not f.error]
    matched = t["remits"]["claim_id"].nunique()
    clm = sum(f.clm_read for f in read)
    clp = sum(f.clp_read for f in read)
    typer.echo(
        f"\n{len(read)} files read, {len(result.files) - len(read)} rejected; "
        f"{clm:,} CLM read: {clm - sum(f.claims_rejected for f in read):,} claims written, "
        f"{sum(f.claims_rejected for f in read):,} rejected; "
        f"{clp:,} CLP read: {clp - sum(f.remits_rejected for f in read):,} remits written, "
        f"{sum(f.remits_rejected for f in read):,} rejected"
    )
    typer.echo(
        f"{len(t['claims']):,} distinct claims ({result.duplicate_claims:,} sent twice kept once, "
        f"{result.renamed_claims:,} reusing a claim id renamed <id>.<date>); "
        f"{len(t['remits']):,} remits matched to {matched:,} claims, "
        f"{len(result.unmatched_remits):,} without their claim (unmatched_remits.csv); "
        f"{result.claims_without_remit:,} claims without a remit"
    )
    for note in result.notes:
        typer.echo(f"note: {note}")
    _, report = validate_folder(out)
    if report.ok:
        typer.echo(f"wrote {out}: the tables pass the data contract")
    else:
        typer.echo(
            f"wrote {out}: {len(report.errors)} contract problems (what the files lack or "
            f"break); see `claimrisk validate {out}`"
        )
    if not read:
        raise typer.Exit(2)
    if any(f.error or f.rejected for f in result.files):
        raise typer.Exit(1)


def _file_line(f) -> str:
    if f.error:
        return f"REJECTED {f.error}"
    counts = []
    if f.clm_read:
        counts.append(f"{f.claims} claims, {f.lines} lines")
    if f.clp_read:
        counts.append(f"{f.remits} remits, {f.adjustments} adjustments")
    if f.responses:
        counts.append(f"{f.responses} eligibility responses")
    return f"read     {f.path} ({f.kind} {f.version}): {'; '.join(counts) or 'nothing'}"


def export_x12_command(
    data: Annotated[Path, typer.Option(help="Dataset folder (contract tables).")],
    out: Annotated[Path, typer.Option(help="Folder for the 837P, 837I, 835 and 271 files.")],
) -> None:
    """Write a dataset as X12 837P/837I claims and 835 remits (pyx12-valid), and its eligibility
    responses as a 271."""
    from features.io import DatasetError, load_dataset
    from features.x12.write import write_271, write_x12

    try:
        tables, _ = load_dataset(data)
    except (DatasetError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    lacking = _lacking_for_x12(tables)
    if lacking:
        typer.echo(
            f"error: an 837 needs fields {data} leaves unknown ({lacking}); fill them in the "
            "dataset (or the import map) before writing X12",
            err=True,
        )
        raise typer.Exit(1)
    paths = write_x12(tables, out)
    if len(tables.get("eligibility", ())):
        paths.append(write_271(tables, out))
    for path in paths:
        typer.echo(f"wrote {path} ({path.stat().st_size:,} bytes)")


def _lacking_for_x12(tables: dict) -> str:
    """The may-be-unknown fields an 837/835 must carry that some rows leave empty, counted."""
    from features.contract import UNKNOWN_WHEN_EMPTY

    found = []
    for name in sorted(UNKNOWN_WHEN_EMPTY):
        table, column = name.split(".")
        empty = int(tables[table][column].isna().sum())
        if empty and column not in ("timely_filing_days", "appeal_window_days"):
            found.append(f"{name}: {empty:,} rows")
    return "; ".join(found)


def register(app: typer.Typer) -> None:
    """Add the data commands to the root ``claimrisk`` app."""
    app.command("generate")(generate_command)
    app.command("validate")(validate_command)
    app.command("features")(features_command)
    app.command("partition")(partition_command)
    app.command("docs")(docs_command)
    app.command("ingest")(ingest_command)
    app.command("export-x12")(export_x12_command)
