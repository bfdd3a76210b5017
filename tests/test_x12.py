"""X12: real files written by other projects, and a round trip through pyx12's validator."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import pyx12.params
import pyx12.x12n_document
from typer.testing import CliRunner

from features.generate import WorldConfig, generate
from features.io import validate_folder
from features.x12.ingest import ingest, write_ingested
from features.x12.segments import X12FileError, read_file
from features.x12.write import write_271, write_x12
from serving.cli import app

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "x12"
needs_shared = pytest.mark.skipif(
    not SHARED.exists(),
    reason=f"the shared X12 samples are not at {SHARED} (they live beside the repository, "
    "never in it); these tests read them when present",
)
#: Files with no ISA header at all: not X12 interchanges, rejected with a clear error.
NO_ISA = {"exhaustive_sample.txt", "x12_no_isa_line.txt", "blue_cross_nc_sample.txt"}
#: Sample files whose every transaction set fails its SE01 segment count (the imsweb fixtures
#: say 25 whatever their length; four TigerShark examples were edited by hand) or is cut off.
BAD_COUNTS = {
    "835-example-2.txt",
    "835-example.txt",
    "837I-Examples.txt",
    "837I-Patient-NotSubscriber2.txt",
}


def pyx12_errors(path: Path) -> list[str]:
    """What pyx12's validator (x12valid's engine) reports about a file."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect(level=logging.WARNING)
    logger = logging.getLogger("pyx12")
    logger.addHandler(handler)
    try:
        ok = pyx12.x12n_document.x12n_document(pyx12.params.params(), str(path), None, None)
    finally:
        logger.removeHandler(handler)
    return messages if not ok or messages else []


@needs_shared
def test_every_shared_file_is_read_or_rejected_with_a_clear_error():
    result = ingest([SHARED])
    rejected = {f.path.name for f in result.files if f.error}
    imsweb = {p.name for p in (SHARED / "imsweb__x12-parser").iterdir()} - {
        "PROVENANCE.md",
        "LICENSE",
    }
    assert rejected == NO_ISA | BAD_COUNTS | imsweb
    for f in result.files:
        assert str(f.path.name) in (f.error or f.path.name)
        if f.path.name in NO_ISA:
            assert "ISA" in f.error
        elif f.error:
            assert "SE01 says" in f.error or "no SE" in f.error, f.error
        else:
            assert f.kind in ("837P", "837I", "835")
            assert f.claims + f.remits + len(f.rejected) > 0, f.path
        assert f.clm_read == f.claims + f.claims_rejected  # every CLM and CLP accounted for
        assert f.clp_read == f.remits + f.remits_rejected
    kinds = {f.kind for f in result.files}
    assert kinds >= {"837P", "837I", "835"}
    # every CLP of the samples (532, counted by hand) is either a remit or a named rejection
    remits = sum(f.remits for f in result.files)
    assert remits == len(result.tables["remits"]) + len(result.unmatched_remits)
    assert sum(f.clp_read for f in result.files) == 532
    managed = next(f for f in result.files if f.path.name == "managed-care.835")
    assert {r.what for r in managed.rejected} == {"remit"}  # BPR16 20002316 is no date
    assert all("20002316" in r.reason for r in managed.rejected)


@needs_shared
def test_real_files_keep_denials_carcs_and_what_was_tolerated():
    nevada = read_file(SHARED / "affect-therapeutics__edi-835-parser" / "nevada_medicaid.txt")
    assert any("read by separators" in t for t in nevada.tolerated)
    result = ingest([SHARED / "affect-therapeutics__edi-835-parser" / "nevada_medicaid.txt"])
    remits = result.unmatched_remits
    assert len(remits) == 3 and (remits["claim_status_code"] == "4").sum() == 2
    staedi = ingest([SHARED / "xlate__staedi" / "sample837-original.edi"]).files[0]
    assert staedi.version.endswith("X222") and staedi.claims == 1  # an 00402 interchange
    tiger = ingest([SHARED / "slott56__TigerShark" / "835-example.txt"]).files[0]
    assert tiger.remits == 0 and "SE01 says 43 segments, the set has 47" in tiger.error
    multi = ingest([SHARED / "alshival__py835" / "X221-multiple-claims-single-check.edi"])
    # multiple CAS triplets per segment, claim- and line-level: 39 adjustments in 9 claims
    assert multi.files[0].remits == 9 and multi.files[0].adjustments == 39


def test_a_file_without_isa_names_itself(tmp_path):
    bad = tmp_path / "not-x12.txt"
    bad.write_text("GS*HC*A*B~ST*837*1~")
    with pytest.raises(X12FileError, match=r"not-x12\.txt.*ISA"):
        read_file(bad)


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    tables, _ = generate(WorldConfig(n_claims=5_000, seed=17))
    folder = tmp_path_factory.mktemp("x12")
    paths = [*write_x12(tables, folder), write_271(tables, folder)]
    return tables, paths, ingest(paths)


@pytest.mark.slow
def test_exported_files_pass_pyx12_validation(round_trip):
    _, paths, _ = round_trip
    assert {p.name for p in paths} == {
        "claims_837p.x12",
        "claims_837i.x12",
        "remits_835.x12",
        "eligibility_271.x12",
    }
    # pyx12 4.0 ships no 005010X279A1 map: the 271 is checked by its round trip instead
    # (tests/test_eligibility.py), and by reading the 271s other X12 projects wrote
    for path in paths:
        if path.name != "eligibility_271.x12":
            assert pyx12_errors(path) == [], path.name


def _normal(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    """Rows as comparable tuples: dates ISO, numbers to the cent, missing as ''."""
    cells = []
    for c in columns:
        col = frame[c]
        if pd.api.types.is_datetime64_any_dtype(col):
            col = col.dt.strftime("%Y-%m-%d")
        cells.append(
            [
                ""
                if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v))
                else (
                    f"{float(v):.2f}"
                    if isinstance(v, (int, float, np.integer, np.floating))
                    and not isinstance(v, bool)
                    else str(v)
                )
                for v in col.astype(object).tolist()
            ]
        )
    return sorted(zip(*cells, strict=True))


#: Fields the 837 does not carry (see docs/x12.md).
NOT_IN_837 = {"eligibility_verified_date"}


def test_round_trip_gives_back_the_tables(round_trip):
    original, _, result = round_trip
    got = result.tables
    assert result.unmatched_remits.empty and result.duplicate_claims == 0
    columns = [c for c in original["claims"].columns if c not in NOT_IN_837]
    assert _normal(got["claims"], columns) == _normal(original["claims"], columns)
    # a modifier on a line without a procedure code has nowhere to go in SV1/SV2
    lines = original["claim_lines"]
    carried = lines[lines["procedure_code"].notna()]
    back = got["claim_lines"].merge(carried[["claim_id", "line_number"]])
    assert _normal(back, list(lines.columns)) == _normal(carried, list(lines.columns))
    remit_cols = [c for c in original["remits"].columns if c != "remit_id"]
    assert _normal(got["remits"], remit_cols) == _normal(original["remits"], remit_cols)
    adj = ["claim_id", "line_number", "group_code", "carc", "amount"]
    assert _normal(got["remit_adjustments"], adj) == _normal(original["remit_adjustments"], adj)
    rem = ["claim_id", "line_number", "rarc"]
    assert _normal(got["remit_remarks"], rem) == _normal(original["remit_remarks"], rem)
    payers = ["payer_id", "name", "payer_type"]
    assert _normal(got["payers"], payers) == _normal(original["payers"], payers)
    responses = list(original["eligibility"].columns)
    assert _normal(got["eligibility"], responses) == _normal(original["eligibility"], responses)


def test_ingested_round_trip_passes_the_contract(round_trip, tmp_path):
    _, _, result = round_trip
    write_ingested(result, tmp_path)
    _, report = validate_folder(tmp_path)
    assert report.ok, report.render()[:2000]


def _one_claim(tables: dict[str, pd.DataFrame], claim_id: str, new_id: str) -> dict:
    """A valid dataset of one claim and its outcomes, the claim renamed ``new_id``."""
    out = {}
    for name, frame in tables.items():
        if "claim_id" in frame:
            frame = frame[frame["claim_id"] == claim_id].assign(claim_id=new_id)
        out[name] = frame.reset_index(drop=True)
    return out


def test_a_reused_claim_id_is_told_apart_by_service_date(tmp_path):
    tables, _ = generate(WorldConfig(n_claims=300, seed=4))
    claims, remits = tables["claims"], tables["remits"]
    first, second = claims["claim_id"].iloc[0], claims["claim_id"].iloc[1]
    days = dict(
        zip(claims["claim_id"], claims["service_date_from"].dt.strftime("%Y%m%d"), strict=True)
    )
    assert days[first] != days[second]
    # the office reused a patient control number: two claims, sent months apart, both "PCN1"
    paths = []
    for i, original in enumerate((first, second)):
        paths += write_x12(_one_claim(tables, original, "PCN1"), tmp_path / f"batch{i}")
    result = ingest(paths)
    got = result.tables
    assert result.renamed_claims == 2 and result.duplicate_claims == 0
    assert result.unmatched_remits.empty
    for original in (first, second):
        new = f"PCN1.{days[original]}"
        assert new in set(got["claims"]["claim_id"])
        paid = remits.loc[remits["claim_id"] == original, "paid_amount"].sum()
        matched = got["remits"].loc[got["remits"]["claim_id"] == new, "paid_amount"].sum()
        assert matched == pytest.approx(paid), original


def test_unmatched_remits_are_counted_not_dropped(round_trip):
    _, paths, _ = round_trip
    only_remits = ingest([p for p in paths if p.name.startswith("remits")])
    assert only_remits.tables["remits"].empty
    assert len(only_remits.unmatched_remits) == only_remits.files[0].remits > 0


def test_ingest_cli_reads_good_files_and_reports_bad_ones(round_trip, tmp_path):
    _, paths, _ = round_trip
    bad = tmp_path / "broken.x12"
    bad.write_text("this is not X12")
    out = tmp_path / "out"
    args = ["ingest", "--out", str(out)]
    for p in [*paths, bad]:
        args += ["--x12", str(p)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output  # something was rejected; the rest is written
    assert "REJECTED" in result.output and "broken.x12" in result.output
    assert "4 files read, 1 rejected" in result.output
    assert (out / "claims.csv").exists() and (out / "unmatched_remits.csv").exists()
    export = tmp_path / "export"
    result = CliRunner().invoke(app, ["export-x12", "--data", str(out), "--out", str(export)])
    assert result.exit_code == 0, result.output
    assert (export / "claims_837p.x12").exists()
