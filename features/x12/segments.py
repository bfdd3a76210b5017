"""X12 files → segments, through pyx12's reader, tolerating what real senders send.

pyx12 (``X12Reader``) finds the delimiters the ISA declares, splits segments with or without
line breaks, walks ISA/GS/ST envelopes (several per file) and reports envelope errors; we keep
its errors as warnings with the segment position. It insists on the fixed-width, 106-character
ISA of the standard; some senders trim the padding (e.g. a Nevada Medicaid 835), so a
non-fixed-width ISA is re-padded to the standard width first and the file's result says so.
A file without an ISA cannot be read: it is an error naming the file, never a silent skip.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import pyx12.errors
import pyx12.x12file

#: Characters some senders leave between a segment terminator and the next segment id.
STRAY = "~\r\n\t "
#: Widths of ISA01..ISA16 in the standard.
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)


class X12FileError(ValueError):
    """A file that cannot be read as X12; the message names the file and the problem."""


@dataclass(frozen=True)
class Segment:
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
        reader = pyx12.x12file.X12Reader(io.StringIO(repadded))
        sub = reader.subele_term
        segments = []
        stray = False
        for position, seg in enumerate(reader, start=1):
            seg_id = seg.get_seg_id() or ""
            if seg_id[:1] in STRAY:
                seg_id = seg_id.lstrip(STRAY)
                stray = True
            elements = tuple(
                tuple(e.get_value() for e in comp.elements) if seg_id != "ISA" else (comp.format(),)
                for comp in seg.elements
            )
            segments.append(Segment(position, seg_id, elements))
        for err in reader.pop_errors():
            tolerated.append(f"envelope: {err[2]} (code {err[1]})")
    except pyx12.errors.X12Error as exc:
        raise X12FileError(f"{path}: {exc}") from None
    del sub
    if stray:
        tolerated.append(
            "characters between segments (e.g. '~' after a newline terminator): dropped"
        )
    version = next((s[8] for s in segments if s.id == "GS"), "")
    transaction = next((s[1] for s in segments if s.id == "ST"), "")
    if transaction not in ("837", "835"):
        seen = ", ".join(s.id for s in segments[:4])
        raise X12FileError(
            f"{path}: transaction set {transaction or '(no ST segment)'} is not an 837 claim or "
            f"835 remit (first segments: {seen})"
        )
    return ParsedFile(path, segments, version, transaction, tolerated)
