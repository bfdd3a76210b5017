"""X12 ingest never invents data: each transaction set is read whole or rejected whole with its
reason, nothing carries from one set or interchange to the next, and every CLM and CLP is
accounted for. Each test stands for a defect an outside tester found."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from features.generate import WorldConfig, generate
from features.x12.ingest import ingest
from features.x12.segments import X12FileError, read_file
from features.x12.write import write_x12
from serving.cli import app

PAYER_A, PAYER_B = (
    "COM01",
    "MCR01",
)  # differ in three characters: no one byte turns one into the other


def _subset(tables: dict, payer: str, n: int) -> dict:
    claims = tables["claims"][tables["claims"]["payer_id"] == payer].head(n)
    ids = set(claims["claim_id"])
    out = {k: v for k, v in tables.items()}
    out["claims"] = claims
    for name in ("claim_lines", "remits", "remit_adjustments", "remit_remarks", "appeals"):
        out[name] = tables[name][tables[name]["claim_id"].isin(ids)]
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """837P and 835 texts: one interchange of PAYER_A claims followed by one of PAYER_B."""
    tables, _ = generate(WorldConfig(n_claims=1_500, seed=23))
    root = tmp_path_factory.mktemp("x12-security")
    texts = {}
    for payer in (PAYER_A, PAYER_B):
        written = write_x12(_subset(tables, payer, 12), root / payer)
        texts[payer] = {p.name: p.read_text() for p in written}
    return {
        name: texts[PAYER_A][name] + texts[PAYER_B][name]
        for name in ("claims_837p.x12", "remits_835.x12")
    }, tables


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("latin-1"))
    return path


def _accounted(result) -> None:
    for f in result.files:
        if f.error:
            continue
        rejected = {r.what for r in f.rejected}
        assert f.clm_read == f.claims + f.claims_rejected
        assert f.clp_read == f.remits + f.remits_rejected
        if f.claims_rejected or f.remits_rejected:
            assert rejected & {"transaction", "claim", "remit", "interchange", "content"}


def test_a_file_cut_mid_transaction_yields_no_partial_claim(files, tmp_path):
    texts, _ = files
    text = texts["claims_837p.x12"]
    cut = text[: text.index("CLM*", len(text) // 2) + 12]  # inside a claim id
    result = ingest([_write(tmp_path, "cut.x12", cut)])
    f = result.files[0]
    assert any("no SE" in r.reason for r in f.rejected)
    claims, lines = result.tables["claims"], result.tables["claim_lines"]
    assert claims["claim_id"].isin(lines["claim_id"]).all()  # no claim without its lines
    assert f.claims_rejected > 0
    _accounted(result)


def test_a_cut_835_gives_no_zero_dollar_remit(files, tmp_path):
    texts, _ = files
    text = texts["remits_835.x12"]
    cut = text[: text.index("CLP*", len(text) // 2) + 20]
    result = ingest([_write(tmp_path, "cut.835", cut)])
    assert result.files[0].remits_rejected > 0
    remits = pd.concat([result.tables["remits"], result.unmatched_remits])
    assert remits["paid_amount"].notna().all()
    _accounted(result)


def test_nothing_carries_into_a_garbage_interchange(files, tmp_path):
    texts, _ = files
    good = texts["claims_837p.x12"].split("ISA*")[1]
    garbage = (
        "ISA*"
        + good[: good.index("ST*")]
        + "ST*837*9999*005010X222A1~CLM*GARBAGE1*100***11:B:1~SE*3*9999~GE*1*1~IEA*1*000000001~"
    )
    result = ingest([_write(tmp_path, "two.x12", "ISA*" + good + garbage)])
    claims = result.tables["claims"]
    row = claims[claims["claim_id"] == "GARBAGE1"]
    assert len(row) == 1
    assert row["payer_id"].isna().all() or (row["payer_id"] == "").all()
    assert row["patient_id"].isna().all() or (row["patient_id"] == "").all()


def test_an_impossible_date_rejects_only_its_claim(files, tmp_path):
    texts, _ = files
    text = texts["claims_837p.x12"]
    first = text.index("DTP*472*RD8*")
    end = text.index("~", first)
    broken = text[:first] + "DTP*472*RD8*20240230-20240230" + text[end:]  # same segment count
    result = ingest([_write(tmp_path, "date.x12", broken)])
    f = result.files[0]
    assert [r.what for r in f.rejected] == ["claim"]
    assert "20240230" in f.rejected[0].reason and "not a date" in f.rejected[0].reason
    assert f.claims == f.clm_read - 1
    _accounted(result)


def test_a_non_numeric_amount_rejects_its_claim_or_remit(files, tmp_path):
    texts, _ = files
    text = texts["claims_837p.x12"]
    clm = text.index("CLM*")
    parts = text[clm : text.index("~", clm)].split("*")
    parts[2] = "12O.00"  # a letter O
    broken = text[:clm] + "*".join(parts) + text[text.index("~", clm) :]
    f = ingest([_write(tmp_path, "amount.x12", broken)]).files[0]
    assert [r.what for r in f.rejected] == ["claim"] and "not a number" in f.rejected[0].reason
    text = texts["remits_835.x12"]
    clp = text.index("CLP*")
    parts = text[clp : text.index("~", clp)].split("*")
    parts[4] = "abc"
    broken = text[:clp] + "*".join(parts) + text[text.index("~", clp) :]
    f = ingest([_write(tmp_path, "amount.835", broken)]).files[0]
    assert [r.what for r in f.rejected] == ["remit"] and "CLP04" in f.rejected[0].reason


def test_a_birth_date_after_the_service_rejects_the_claim(files, tmp_path):
    texts, _ = files
    text = texts["claims_837p.x12"]
    dmg = text.index("DMG*D8*")
    broken = text[:dmg] + "DMG*D8*20990101" + text[dmg + len("DMG*D8*20240101") :]
    f = ingest([_write(tmp_path, "birth.x12", broken)]).files[0]
    assert f.rejected and all("birth date" in r.reason for r in f.rejected)
    assert {r.what for r in f.rejected} == {"claim"}


def test_an_835_alone_ingests_and_a_bad_file_does_not_stop_the_batch(files, tmp_path):
    texts, _ = files
    remits = _write(tmp_path, "alone.835", texts["remits_835.x12"])
    junk = _write(tmp_path, "junk.x12", "hello")
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["ingest", "--x12", str(remits), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "without their claim" in r.output and (out / "unmatched_remits.csv").exists()
    r = CliRunner().invoke(
        app, ["ingest", "--x12", str(remits), "--x12", str(junk), "--out", str(out)]
    )
    assert (r.exit_code == 1 and "REJECTED" in r.output and r.exception is None) or isinstance(
        r.exception, SystemExit
    )
    r = CliRunner().invoke(app, ["ingest", "--x12", str(junk), "--out", str(out)])
    assert r.exit_code == 2


def test_reading_is_bounded(tmp_path):
    with pytest.raises(X12FileError, match="larger than 1,024 bytes"):
        read_file(Path("/dev/zero"), max_bytes=1024)


ISA_LONG = (
    "ISA*00*          *00*          *ZZ*SENDER14CHARSX*ZZ*RECEIVER14CHAR*240101*1200*^*00501*"
    "1234567890*0*P*:~"
)


def _one_set(
    isa: str,
    st03: str = "005010X222A1",
    gs08: str = "005010X222A1",
    line: str = "SV1*HC:99213*100*UN*1***1",
) -> str:
    body = [
        f"ST*837*0001*{st03}",
        "BHT*0019*00*1*20240105*1200*CH",
        "HL*1**20*1",
        "NM1*85*2*CLINIC*****XX*1234567893",
        "HL*2*1*22*0",
        "SBR*P*18*******CI",
        "NM1*IL*1*DOE*JANE****MI*M1",
        "DMG*D8*19700101*F",
        "NM1*PR*2*PAYER*****PI*COM01",
        "CLM*X1*100***11:B:1",
        "HI*ABK:M5450",
        "LX*1",
        line,
        "DTP*472*D8*20240102",
    ]
    body.append(f"SE*{len(body) + 1}*0001")
    return (
        isa + f"GS*HC*S*R*20240105*1200*1*X*{gs08}~" + "~".join(body) + "~GE*1*1~IEA*1*1234567890~"
    )


def test_an_isa_is_read_by_its_separators_not_by_columns(tmp_path):
    parsed = read_file(_write(tmp_path, "long.x12", _one_set(ISA_LONG)))
    assert len(parsed.transactions) == 1 and parsed.clm_read == 1
    assert any("read by separators" in t and "ISA13 has 10" in t for t in parsed.tolerated)


def test_an_isa_whose_separators_collide_is_rejected(tmp_path):
    collide = ISA_LONG.replace("*0*P*:~", "*0*P***")
    with pytest.raises(X12FileError, match="separators collide"):
        read_file(_write(tmp_path, "collide.x12", _one_set(collide)))


def test_unmodelled_transactions_are_rejected_with_a_reason(tmp_path):
    dental = _one_set(ISA_LONG, "005010X224A2", "005010X224A2", "SV3*AD:D0120*100")
    f = ingest([_write(tmp_path, "dental.x12", dental)]).files[0]
    assert f.claims == 0 and "837D dental" in f.rejected[0].reason
    eligibility = _one_set(ISA_LONG).replace("ST*837*", "ST*270*")
    f = ingest([_write(tmp_path, "270.x12", eligibility)]).files[0]
    assert "270 inquiries" in f.rejected[0].reason and f.error  # nothing in it could be read
    assert "271 eligibility responses" in f.rejected[0].reason  # what it does read


def test_837_type_comes_from_st03_gs08_and_content_and_disagreement_is_said(tmp_path):
    mixed = _one_set(
        ISA_LONG, st03="005010X222A1", gs08="005010X223A2", line="SV2*0450*HC:99283*100*UN*1"
    )
    parsed = read_file(_write(tmp_path, "mixed.x12", mixed))
    assert parsed.transactions[0].claim_type == "institutional"  # the content has the last word
    assert any("disagree" in t and "GS08 institutional" in t for t in parsed.tolerated)


def test_line_breaks_inside_segments_and_segments_after_iea(tmp_path):
    text = _one_set(ISA_LONG).replace("NM1*PR*2*PAYER", "NM1*PR*2*PAY\nER")
    parsed = read_file(_write(tmp_path, "breaks.x12", text + "CLM*AFTER*1~"))
    assert any("line breaks inside segments" in t for t in parsed.tolerated)
    assert [r.what for r in parsed.rejected] == ["content"]
    claims = ingest([tmp_path / "breaks.x12"]).tables["payers"]
    assert "PAYER" in set(claims["name"])


# -- the fuzz ---------------------------------------------------------------------------------

_SEG = st.integers(min_value=0, max_value=10_000)


@st.composite
def mutations(draw):
    kind = draw(st.sampled_from(["truncate", "flip", "duplicate", "drop"]))
    return kind, draw(_SEG), draw(st.integers(min_value=0, max_value=255))


def _mutate(text: str, kind: str, where: int, byte: int) -> bytes:
    data = text.encode("ascii")
    if kind == "truncate":
        return data[: where % (len(data) + 1)]
    if kind == "flip":
        i = where % len(data)
        return data[:i] + bytes([byte]) + data[i + 1 :]
    segments = text.split("~")
    i = where % len(segments)
    if kind == "duplicate":
        segments.insert(i, segments[i])
    else:
        del segments[i]
    return "~".join(segments).encode("ascii")


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(change=mutations(), which=st.sampled_from(["claims_837p.x12", "remits_835.x12"]))
def test_fuzzed_files_never_raise_never_carry_and_account_for_everything(
    files, tmp_path_factory, change, which
):
    texts, tables = files
    path = tmp_path_factory.mktemp("fuzz") / which
    path.write_bytes(_mutate(texts[which], *change))
    result = ingest([path])  # never raises
    _accounted(result)
    payer_of = tables["claims"].set_index("claim_id")["payer_id"]
    other = {PAYER_A: PAYER_B, PAYER_B: PAYER_A}
    claims = result.tables["claims"]
    for claim_id, payer in zip(claims["claim_id"], claims["payer_id"], strict=True):
        if claim_id in payer_of.index:  # an intact claim id: its payer is never the other set's
            assert payer != other[payer_of[claim_id]]
    remits = pd.concat([result.tables["remits"], result.unmatched_remits])
    assert remits["paid_amount"].notna().all() and remits["charge_amount"].notna().all()
