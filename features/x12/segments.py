"""X12 files → segments, tolerating what real senders send and saying what was tolerated.

pyx12 reads the ISA (``RawX12File``): the element, component, repetition and segment delimiters
it declares, and whether the version is one it knows. Segments are then split on those
delimiters (with or without line breaks; any number of ISA/GS/ST envelopes per file) and the
envelopes checked (control numbers and counts) with problems kept as warnings with the segment
position. pyx12 insists on the fixed-width, 106-character ISA of the standard; some senders trim
the padding (e.g. a Nevada Medicaid 835), so such an ISA is re-padded first and the file's
result says so. A file without an ISA cannot be read: an error naming the file, never a skip.
"""

from __future__ import annotations

import gc
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pyx12.errors
import pyx12.rawx12file

#: Characters some senders leave between a segment terminator and the next segment id.
STRAY = "~\r\n\t "
ISA_LENGTH = 106
#: Widths of ISA01..ISA16 in the standard.
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)


class X12FileError(ValueError):
    """A file that cannot be read as X12; the message names the file and the problem."""


class Segment(NamedTuple):
    """One segment: its position in the file (1-based), id, and elements split into components.

    ``self[1]`` is the first element (``CLM01``) as a string; ``self.part(5, 3)`` is a
    component (``CLM05-3``). Missing elements and components are ``""``.
    """

    position: int
    id: str
    elements: tuple[tuple[str, ...], ...]

    def __getitem__(self, index: int) -> str:
        return self.part(index, 1)

    def part(self, index: int, component: int) -> str:
        if index > len(self.elements) or index < 1:
            return ""
        element = self.elements[index - 1]
        return element[component - 1] if component <= len(element) else ""

    def components(self, index: int) -> tuple[str, ...]:
        return self.elements[index - 1] if 0 < index <= len(self.elements) else ()


@dataclass
class ParsedFile:
    path: Path
    segments: list[Segment]
    version: str  # GS08 of the first functional group ('' if none)
    transaction: str  # ST01 of the first transaction set: '837' or '835'
    tolerated: list[str] = field(default_factory=list)


def _repad_isa(text: str) -> tuple[str, bool]:
    """Re-pad a trimmed ISA to the standard 106 characters; (text, whether it was changed)."""
    if len(text) < 4:
        return text, False
    sep = text[3]
    parts = text.split(sep, 16)
    if len(parts) < 17 or parts[0] != "ISA":
        return text, False
    isa16, rest = parts[16][:1], parts[16][1:]
    terminator = rest[:1]
    fields = [
        p.ljust(w) if len(p) < w else p for p, w in zip(parts[1:16], ISA_WIDTHS, strict=False)
    ]
    if [len(f) for f in fields] != list(ISA_WIDTHS[:15]):
        return text, False
    rebuilt = sep.join(["ISA", *fields, isa16]) + terminator
    original = text[: len("".join(parts[:16])) + 16 + 1 + len(terminator)]
    return rebuilt + rest[1:], rebuilt != original


@contextmanager
def bulk_parsing() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of small tuples are built.

    Nothing built here forms a cycle; without the pause, collections triggered by the
    allocations themselves cost 5-10x the splitting (measured: 0.12 s vs 0.7-1.2 s for the
    405k segments of a 20k-claim 837P).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def tokenize(text: str, seg_term: str, ele_term: str, sub_term: str) -> tuple[list[Segment], bool]:
    """Split an interchange into segments, elements and components (C-speed ``str.split``).

    Measured (bench/x12.py): pyx12's ``X12Reader`` builds an object per element and ran at
    ~240k segments/s, 69 % of ingest time; with the delimiters from pyx12's ISA reader and
    ``str.split`` here, ingest meets its 5,000 claims/s goal. Envelope checks are
    ``check_envelopes``; full TR3 validation stays pyx12's (``x12valid``; see the tests).
    """
    segments = []
    stray = False
    for raw in text.split(seg_term):
        raw = raw.strip("\r\n")
        if raw[:1] in STRAY:
            cleaned = raw.lstrip(STRAY)
            stray |= bool(cleaned) and cleaned != raw
            raw = cleaned
        if not raw:
            continue
        parts = raw.split(ele_term)
        seg_id = parts[0]
        if seg_id == "ISA":
            elements = tuple((p,) for p in parts[1:])
        else:
            elements = tuple(tuple(p.split(sub_term)) for p in parts[1:])
        segments.append(Segment(len(segments) + 1, seg_id, elements))
    return segments, stray


def check_envelopes(segments: list[Segment]) -> list[str]:
    """ISA/IEA, GS/GE, ST/SE control numbers and counts; problems as sentences (not fatal)."""
    problems = []
    isa = gs = st = None
    groups = sets = count = 0
    for seg in segments:
        sid = seg.id
        if st is not None:
            count += 1
        if sid == "ISA":
            isa, groups = seg, 0
        elif sid == "GS":
            gs, sets, groups = seg, 0, groups + 1
        elif sid == "ST":
            st, count, sets = seg, 1, sets + 1
        elif sid == "SE" and st is not None:
            if seg[2] != st[2]:
                problems.append(
                    f"segment {seg.position}: SE02 {seg[2]} does not match ST02 {st[2]}"
                )
            if seg[1] != str(count):
                problems.append(
                    f"segment {seg.position}: SE01 says {seg[1]} segments, the set has {count}"
                )
            st = None
        elif sid == "GE" and gs is not None:
            if seg[2] != gs[6]:
                problems.append(f"segment {seg.position}: GE02 {seg[2]} does not match GS06")
            if seg[1] != str(sets):
                problems.append(f"segment {seg.position}: GE01 says {seg[1]} sets, found {sets}")
            gs = None
        elif sid == "IEA" and isa is not None:
            if seg[2] != isa[13]:
                problems.append(f"segment {seg.position}: IEA02 {seg[2]} does not match ISA13")
            if seg[1] != str(groups):
                problems.append(
                    f"segment {seg.position}: IEA01 says {seg[1]} groups, found {groups}"
                )
            isa = None
    if st is not None or gs is not None or isa is not None:
        problems.append("the file ends inside an envelope (missing SE, GE or IEA)")
    return [f"envelope: {p}" for p in problems]


def read_segments(path: Path) -> ParsedFile:
    """All segments of one X12 file (every interchange, group and transaction in it)."""
    try:
        text = path.read_text(encoding="ascii", errors="strict")
    except UnicodeDecodeError as exc:
        raise X12FileError(f"{path}: not ASCII text at byte {exc.start}") from None
    stripped = text.lstrip()
    if not stripped.startswith("ISA"):
        first = stripped[:20].replace("\n", " ")
        raise X12FileError(
            f"{path}: no ISA interchange header (file starts {first!r}); an X12 file must begin "
            "with the ISA segment that declares its delimiters"
        )
    tolerated = []
    if stripped is not text:
        tolerated.append("leading whitespace before ISA ignored")
    repadded, changed = _repad_isa(stripped)
    if changed:
        tolerated.append("ISA fields not padded to the standard widths: re-padded")
    icvn = repadded[84:89]
    if icvn not in ("00401", "00501") and icvn[:3] in ("004", "005"):
        supported = "00401" if icvn.startswith("004") else "00501"
        repadded = repadded[:84] + supported + repadded[89:]
        tolerated.append(f"ISA12 version {icvn} read as {supported}")
    try:
        # pyx12 reads the ISA: which delimiters, which version (it refuses what it can't read)
        terms = pyx12.rawx12file.RawX12File(io.StringIO(repadded[:ISA_LENGTH])).get_term()
    except pyx12.errors.X12Error as exc:
        raise X12FileError(f"{path}: {exc}") from None
    seg_term, ele_term, sub_term = terms[0], terms[1], terms[2]
    with bulk_parsing():
        segments, stray = tokenize(repadded, seg_term, ele_term, sub_term)
    if stray:
        tolerated.append("characters between segments ('~' after a newline terminator): dropped")
    tolerated += check_envelopes(segments)
    version = next((s[8] for s in segments if s.id == "GS"), "")
    transaction = next((s[1] for s in segments if s.id == "ST"), "")
    if transaction not in ("837", "835"):
        seen = ", ".join(s.id for s in segments[:4])
        raise X12FileError(
            f"{path}: transaction set {transaction or '(no ST segment)'} is not an 837 claim or "
            f"835 remit (first segments: {seen})"
        )
    return ParsedFile(path, segments, version, transaction, tolerated)
