"""The CJK font read once per process: each PDF gets a cheap copy of the parsed metrics.

fpdf2's `add_font` parses the font's cmap and advance widths for ~65k glyphs (Noto CJK) on
every document: seconds per render, twice when regular and bold are added. What it derives
from the file (cmap, widths, glyph ids, descriptor) never changes, so it is kept here per
(file, face, size, mtime) and shared read-only. What fpdf2 changes per document is copied
fresh: the font descriptor (a PDF object, numbered on output), the subset of used glyphs,
the list of missing glyphs, the largest size used, the font's number in the document, and
the fontTools object, which the output step subsets in place and closes (so each document
opens its own, when the output step asks for it).

Subsetting ~65k glyphs at output is the other cost. `jixiao serve` therefore also prepares,
once per font file (in the user's cache dir, keyed by the file's hash), the face cut to the
characters tables almost always hold (GB 2312, Latin, punctuation, full-width forms: ~8k
glyphs). A document whose glyphs are all there is subset from that file instead, several
times faster; the embedded CFF is the same bytes either way (the same glyphs, names and CIDs;
tests check), so which file served a render never shows in the PDF. Otherwise, or before the
file is ready, the full face is used. The cut of a CID-keyed CFF face keeps only the tables
fontTools needs to subset it (CFF_CUT_TABLES): the PDF embeds its CFF table alone, and
parsing and pruning the others (cmap, metrics, OS/2…) was a fifth of a render's CPU.
What remains per document is fontTools interpreting each used glyph's charstrings (twice)
and compiling them: about 0.5 ms a glyph.

Set JIXIAO_PDF_FONT_CACHE=off to parse per document as fpdf2 does (a reference for the bench).
"""

from __future__ import annotations

import copy
import hashlib
import os
import threading
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

from fontTools import subset as ftsubset  # type: ignore[import-untyped]
from fontTools import ttLib
from fpdf import FPDF
from fpdf.enums import TextEmphasis
from fpdf.fonts import SubsetMap, TTFFont

CACHE_ENV = "JIXIAO_PDF_FONT_CACHE"
_Key = tuple[str, int, int, int]
_parsed: dict[_Key, TTFFont] = {}
_lock = threading.Lock()
_common: dict[_Key, tuple[Path, frozenset[str]]] = {}  # ready: its file and glyph names
RECIPE = "gb2312-2"  # change when the cut changes (`is_common`, tables): files are rebuilt
# What fontTools needs to subset a CID-keyed CFF face; the PDF embeds the CFF table alone
# (fpdf2, CIDFontType0), so the cut of such a face keeps no other table for it to parse.
CFF_CUT_TABLES = frozenset({"CFF ", "head", "maxp"})


def is_common(codepoint: int) -> bool:
    """Latin and general punctuation, CJK punctuation, full-width forms, GB 2312."""
    if codepoint < 0x2500 or 0x3000 <= codepoint <= 0x303F or 0xFF00 <= codepoint <= 0xFFEF:
        return True
    try:
        chr(codepoint).encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "jixiao" / "fonts"


def _open(path: Path, index: int) -> Any:
    return ttLib.TTFont(path, recalcTimestamp=False, recalcBBoxes=False, fontNumber=index,
                        lazy=True)


def prepare_common(path: Path, index: int, keep: Callable[[int], bool] = is_common,
                   directory: Path | None = None) -> Path:
    """The face cut to the characters `keep` admits, built once (tens of seconds) and kept
    on disk; later documents subset from it when it holds all their glyphs."""
    key = _key(path, index)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:32]
    folder = directory if directory is not None else cache_dir()
    out = folder / f"{digest}-{index}-{RECIPE}.otf"
    if not out.is_file():
        font = _open(path, index)
        options = ftsubset.Options(notdef_outline=True, recommended_glyphs=True,
                                   glyph_names=True, name_IDs=["*"], name_languages=["*"])
        options.drop_tables += ["GSUB", "GPOS", "GDEF"]  # fpdf2 drops them from the PDF
        subsetter = ftsubset.Subsetter(options)
        subsetter.populate(unicodes=[c for c in font.getBestCmap() if keep(c)])
        subsetter.subset(font)
        if "CFF " in font and getattr(font["CFF "].cff.topDictIndex[0], "ROS", None):
            tags: list[str] = font.keys()  # a TTFont has no __iter__
            for tag in set(tags) - CFF_CUT_TABLES - {"GlyphOrder"}:
                del font[tag]
        data = BytesIO()
        font.save(data)
        folder.mkdir(parents=True, exist_ok=True)
        temporary = out.with_name(f"{out.name}.{os.getpid()}.{threading.get_ident()}")
        temporary.write_bytes(data.getvalue())
        os.replace(temporary, out)  # whole or absent, for the other workers too
    names = frozenset(_open(out, 0).getGlyphOrder())
    with _lock:
        _common[key] = (out, names)
    return out


class _DocumentFont(TTFFont):
    """A per-document font whose fontTools object is opened when fpdf2's output step asks
    for it to subset: by then the used glyphs are known, and the smaller file can serve."""

    __slots__ = ("_common", "_index", "_opened", "_path")
    _common: tuple[Path, frozenset[str]] | None
    _index: int
    _opened: Any
    _path: Path

    @property
    def ttfont(self) -> Any:
        if self._opened is None:
            path, index = self._path, self._index
            if self._common is not None:
                common, names = self._common
                if set(self.subset.get_all_glyph_names()) <= names:
                    path, index = common, 0
                    self._path, self._index = path, index  # which file served (tests)
            self._opened = _open(path, index)
        return self._opened

    @ttfont.setter
    def ttfont(self, value: Any) -> None:
        self._opened = value


def _key(path: Path, index: int) -> _Key:
    stat = path.stat()
    return (str(path.resolve()), index, stat.st_size, stat.st_mtime_ns)


def parsed(path: Path, index: int) -> TTFFont:
    """The font's parsed metrics, read on first use in this process (thread-safe)."""
    key = _key(path, index)
    with _lock:  # one parse even when two renders start together
        found = _parsed.get(key)
        if found is None:
            found = TTFFont(FPDF(), path, "warm", "", collection_font_number=index)
            found.ttfont.close()  # the template keeps metrics only; documents open their own
            _parsed[key] = found
        return found


def add_font(pdf: FPDF, family: str, style: str, path: Path, index: int) -> None:
    """`pdf.add_font(family, style, path, collection_font_number=index)`, from the cache."""
    if os.environ.get(CACHE_ENV, "").strip().lower() == "off":
        pdf.add_font(family, style, str(path), collection_font_number=index)
        return
    template = parsed(path, index)
    if template.color_font is not None:  # colour glyphs tie the font to one document
        pdf.add_font(family, style, str(path), collection_font_number=index)
        return
    style = "".join(sorted(style.upper()))
    font = _DocumentFont.__new__(_DocumentFont)
    for name in TTFFont.__slots__:  # shared, read-only: metrics derived from the file
        if name != "ttfont" and hasattr(template, name):
            setattr(font, name, getattr(template, name))
    font.desc = copy.copy(template.desc)  # a PDF object: the output step numbers it
    font.i = len(pdf.fonts) + 1
    font.fontkey = f"{family.lower()}{style}"
    font.emphasis = TextEmphasis.coerce(style)
    font.biggest_size_pt = 0
    font.missing_glyphs = []
    font._hbfont = None
    font.color_font = None  # an outline CJK font: fpdf2 makes no Type3 font for it
    # Opened at output (_DocumentFont.ttfont) without recomputed bounding boxes: fontTools
    # would run every kept glyph's charstrings twice (fpdf2 compiles the CFF twice) for a
    # FontBBox no viewer needs; the face's own is kept.
    font._opened, font._path, font._index = None, path, index
    with _lock:
        font._common = _common.get(_key(path, index))
    font.subset = SubsetMap(font)
    pdf.fonts[font.fontkey] = font
    if font.is_cff and font.is_cid_keyed:
        pdf._set_min_pdf_version("1.6")  # as FPDF.add_font does
