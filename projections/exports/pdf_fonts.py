"""The CJK font read once per process: each PDF gets a cheap copy of the parsed metrics.

fpdf2's `add_font` parses the font's cmap and advance widths for ~65k glyphs (Noto CJK) on
every document: seconds per render, twice when regular and bold are added. What it derives
from the file (cmap, widths, glyph ids, descriptor) never changes, so it is kept here per
(file, face, size, mtime) and shared read-only. What fpdf2 changes per document is copied
fresh: the font descriptor (a PDF object, numbered on output), the subset of used glyphs, the list of missing glyphs, the largest size used, the
font's number in the document, and the fontTools object, which the output step subsets in
place and closes (so each document opens its own, lazily: a table directory read).

Set JIXIAO_PDF_FONT_CACHE=off to parse per document as fpdf2 does (a reference for the bench).
"""

from __future__ import annotations

import copy
import os
import threading
from pathlib import Path

from fontTools import ttLib  # type: ignore[import-untyped]
from fpdf import FPDF
from fpdf.enums import TextEmphasis
from fpdf.fonts import SubsetMap, TTFFont

CACHE_ENV = "JIXIAO_PDF_FONT_CACHE"
_Key = tuple[str, int, int, int]
_parsed: dict[_Key, TTFFont] = {}
_lock = threading.Lock()


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
    font = TTFFont.__new__(TTFFont)
    for name in TTFFont.__slots__:  # shared, read-only: metrics derived from the file
        if hasattr(template, name):
            setattr(font, name, getattr(template, name))
    font.desc = copy.copy(template.desc)  # a PDF object: the output step numbers it
    font.i = len(pdf.fonts) + 1
    font.fontkey = f"{family.lower()}{style}"
    font.emphasis = TextEmphasis.coerce(style)
    font.biggest_size_pt = 0
    font.missing_glyphs = []
    font._hbfont = None
    font.color_font = None  # an outline CJK font: fpdf2 makes no Type3 font for it
    # No recomputed bounding boxes: fontTools would run every kept glyph's charstrings twice
    # (fpdf2 compiles the CFF twice) for a FontBBox no viewer needs; the face's own is kept.
    font.ttfont = ttLib.TTFont(path, recalcTimestamp=False, recalcBBoxes=False,
                               fontNumber=index, lazy=True)
    font.subset = SubsetMap(font)
    pdf.fonts[font.fontkey] = font
    if font.is_cff and font.is_cid_keyed:
        pdf._set_min_pdf_version("1.6")  # as FPDF.add_font does
