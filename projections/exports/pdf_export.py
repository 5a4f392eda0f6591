"""The formal PDF (A4 landscape) for submission to the people's congress.

The CJK font is embedded (subset) so that the document renders and its text
can be extracted and searched anywhere; a missing font is a clear error naming
the Debian package, never a silent fallback to boxes.

Layout cost is capped per cell: a cell shows at most MAX_CELL_CHARS characters in at most
MAX_CELL_LINES lines, and one that holds more ends with CUT_MARK; the provenance block then
says how many cells were cut and that the xlsx and csv of the same position have every
character. (A row of 20k-character fields took minutes to lay out and dozens of pages.)
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, TableHeadingsDisplay, WrapMode
from fpdf.fonts import FontFace

from ledger.annex import Provenance
from projections.exports.pdf_fonts import add_font, parsed, prepare_common
from projections.exports.report import (
    Cell,
    Report,
    column_is_integer,
    fixed_timestamp,
    format_cell,
    provenance_lines,
)

log = logging.getLogger("jixiao.exports")
FONT_ENV = "JIXIAO_CJK_FONT"
FONT_PACKAGE = "fonts-noto-cjk"


@dataclass(frozen=True)
class CjkFont:
    """A font file, the face inside a .ttc collection, and an optional bold file."""

    path: Path
    index: int = 0
    bold_path: Path | None = None
    bold_index: int = 0


# Known Debian locations, best first: a Song/Ming face (宋体 style) suits formal papers.
# (regular, face index, bold, face index, Debian package)
_KNOWN_FONTS: tuple[tuple[str, int, str | None, int, str], ...] = (
    (
        "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
        2,
        "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
        2,
        "fonts-noto-cjk",
    ),
    (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        2,
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
        2,
        "fonts-noto-cjk",
    ),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0, None, 0, "fonts-arphic-uming"),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0, None, 0, "fonts-wqy-microhei"),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0, None, 0, "fonts-wqy-zenhei"),
)


class CjkFontNotFoundError(RuntimeError):
    """No usable CJK font: the PDF would be unreadable, so refuse to write it."""


def find_cjk_font() -> CjkFont:
    """The override from $JIXIAO_CJK_FONT (``path`` or ``path#face``), else a known path."""
    override = os.environ.get(FONT_ENV, "").strip()
    if override:
        path_text, _, face = override.partition("#")
        path = Path(path_text)
        if not path.is_file():
            raise CjkFontNotFoundError(f"{FONT_ENV}={override!r} does not name a font file")
        if face and not face.isdigit():
            raise CjkFontNotFoundError(f"{FONT_ENV}: face index after '#' must be a number")
        return CjkFont(path=path, index=int(face or 0))
    for regular, index, bold, bold_index, _package in _KNOWN_FONTS:
        if Path(regular).is_file():
            bold_path = Path(bold) if bold is not None and Path(bold).is_file() else None
            return CjkFont(Path(regular), index, bold_path, bold_index)
    looked = "\n  ".join(entry[0] for entry in _KNOWN_FONTS)
    raise CjkFontNotFoundError(
        "No CJK font found for the PDF export. Install the Debian package "
        f"{FONT_PACKAGE} (apt-get install -y {FONT_PACKAGE}; fonts-arphic-uming or "
        f"fonts-wqy-microhei also work), or set {FONT_ENV}="
        f"/path/to/font.ttf (or font.ttc#face). Looked in:\n  {looked}"
    )


def warm_cjk_font() -> None:
    """Parse the CJK font(s) now (at server start), so the first PDF does not wait, and
    prepare their common-character cut (pdf_fonts.prepare_common) in a background thread,
    then render a small document from it: the first real render then finds fontTools' and
    fpdf2's modules imported and the cut's pages read (about a tenth of a render)."""
    font = find_cjk_font()
    faces = [(font.path, font.index)]
    if font.bold_path is not None:
        faces.append((font.bold_path, font.bold_index))
    for path, index in faces:
        parsed(path, index)

    def prepare() -> None:
        for path, index in faces:
            try:
                prepare_common(path, index)
            except Exception:
                log.warning("could not prepare the common cut of %s", path, exc_info=True)
        try:
            pdf_bytes(_WARM_REPORT)
        except Exception:
            log.warning("the warm-up PDF render failed", exc_info=True)

    threading.Thread(target=prepare, name="jixiao-font-cut", daemon=True).start()


# Regular and bold, CJK, Latin and digits: every path of a real render, in a few glyphs.
_WARM_REPORT = Report(title="预算绩效评价（预热）", headers=("序号", "项目名称", "金额"),
                      rows=((1, "预算绩效 Ab", Decimal("1.00")),),
                      provenance=Provenance(position=0), total_row=("合计", None, Decimal("1.00")),
                      numeric_columns=frozenset({2}))
_FAMILY = "jixiao-cjk"
_MARGIN = 15.0
_BODY_SIZE = 9.0
_LINE_HEIGHT = 5.0
_PADDING = 1.5
_CELL_EXTRA = 2 * _PADDING + 2 * 1.0 + 0.5  # padding, fpdf2's cell margin, slack
MAX_CELL_CHARS = 1000  # several times the longest 评价情况 of a published annex
MAX_CELL_LINES = 24  # fits under the title and header on the first page
CUT_MARK = "…（全文见 xlsx）"


class _AnnexPdf(FPDF):
    """FPDF with the page footer: short provenance left, 第 N 页 / 共 M 页 centred."""

    def __init__(self, position: int) -> None:
        super().__init__(orientation="landscape", unit="mm", format="A4")
        self._position = position

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(_FAMILY, size=8)
        self.set_text_color(90)
        self.cell(0, 5, f"账本位置 {self._position} (ledger position)", align=Align.L)
        self.set_x(self.l_margin)
        self.cell(0, 5, f"第 {self.page_no()} 页 / 共 {{nb}} 页", align=Align.C)
        self.set_text_color(0)


def _column_widths(pdf: FPDF, report: Report, available: float) -> list[float]:
    """Natural widths for short columns, the rest shared by the prose columns."""
    natural: list[float] = []
    for column, header in enumerate(report.headers):
        if column in report.wrap_columns:
            natural.append(0.0)
            continue
        pdf.set_font(_FAMILY, "B", _BODY_SIZE)  # headers and 合计 are bold: measure bold
        texts = [header] + [format_cell(row[column])[:MAX_CELL_CHARS]
                            for row in report.all_rows]
        widest = max(pdf.get_string_width(t) for t in texts) + _CELL_EXTRA + 0.5
        cap = 24.0 if column in report.numeric_columns else available * 0.2
        natural.append(min(max(widest, 10.0), cap))
    wraps = [c for c in range(len(report.headers)) if c in report.wrap_columns]
    fixed = sum(natural)
    if not wraps:
        scale = available / fixed
        return [w * scale for w in natural]
    minimum = available * 0.3
    remaining = available - fixed
    if remaining < minimum * len(wraps) / 2:
        shrink = (available - minimum) / fixed
        natural = [w * shrink for w in natural]
        remaining = minimum
    for column in wraps:
        natural[column] = remaining / len(wraps)
    pdf.set_font(_FAMILY, "", _BODY_SIZE)
    return natural


def _alignments(report: Report) -> list[Align]:
    aligns = []
    for column in range(len(report.headers)):
        if column in report.numeric_columns:
            aligns.append(Align.R)
        elif column_is_integer(report, column) or (
            column not in report.wrap_columns
            and all(len(format_cell(row[column])) <= 2 for row in report.rows)
        ):
            aligns.append(Align.C)  # 序号 and one-character grades sit centred
        else:
            aligns.append(Align.L)
    return aligns


# 禁则 (kinsoku): characters that may not start a line, and those that may not end one.
_NO_LINE_START = set("，。、；：？！）》」』】〕”’…—,.;:?!)]}%·")
_NO_LINE_END = set("（《「『【〔“‘([{")
_TOKEN = re.compile(r"[A-Za-z0-9.,:%+\-/=@_#]+|\s+|.", re.DOTALL)


def break_lines(pdf: FPDF, text: str, width: float) -> str:
    """Line-break CJK text ourselves, keeping Chinese punctuation off line starts
    and ASCII runs (years, amounts, hashes) whole; fpdf2 then only renders lines."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        lines: list[str] = []
        current = ""
        for token in _pieces(pdf, paragraph, width):
            if pdf.get_string_width(current + token) <= width or not current:
                current += token
                continue
            if token[0] in _NO_LINE_START and len(current) > 1:
                carried = current[-1]  # push the last character down with the mark
                lines.append(current[:-1])
                current = carried + token
            elif current[-1] in _NO_LINE_END and len(current) > 1:
                lines.append(current[:-1])
                current = current[-1] + token
            else:
                lines.append(current.rstrip())
                current = token.lstrip()
        lines.append(current)
        out.extend(lines)
    return "\n".join(out)


def _pieces(pdf: FPDF, paragraph: str, width: float) -> list[str]:
    """The paragraph's tokens; an ASCII run wider than the column is split into characters,
    so that every line break is ours and the line count is true."""
    pieces: list[str] = []
    for token in _TOKEN.findall(paragraph):
        if len(token) > 1 and pdf.get_string_width(token) > width:
            pieces.extend(token)
        else:
            pieces.append(token)
    return pieces


def cell_lines(pdf: FPDF, text: str, width: float) -> tuple[str, bool]:
    """A cell's text broken into lines, cut to MAX_CELL_CHARS characters and MAX_CELL_LINES
    lines; True when it was cut, and then its last line is CUT_MARK."""
    cut = len(text) > MAX_CELL_CHARS
    lines = break_lines(pdf, text[:MAX_CELL_CHARS], width).split("\n")
    if len(lines) > MAX_CELL_LINES:
        cut = True
    if not cut:
        return "\n".join(lines), False
    mark = break_lines(pdf, CUT_MARK, width).split("\n")
    return "\n".join(lines[: max(1, MAX_CELL_LINES - len(mark))] + mark), True


def cut_note(cells: int) -> str:
    """The provenance line of a PDF whose cells were cut for the layout."""
    return (f"注：{cells} 个单元格超出版面上限（每格至多 {MAX_CELL_CHARS} 字、"
            f"{MAX_CELL_LINES} 行），已截断并标以“{CUT_MARK}”；全文见同一账本位置的 xlsx 与 "
            f"csv 导出 ({cells} cell(s) cut to fit the layout; the xlsx and csv of the same "
            "ledger position hold the full text)")


def _header_text(pdf: FPDF, header: str, width: float) -> str:
    """Break a long header before its bracket: 财政资金 / (单位:万元)."""
    if pdf.get_string_width(header) > width and "(" in header.lstrip("("):
        head, _, tail = header.partition("(")
        return break_lines(pdf, head, width) + "\n" + break_lines(pdf, "(" + tail, width)
    return break_lines(pdf, header, width)


def _split_tall_row(texts: list[str], max_lines: int) -> list[list[str]]:
    """A row taller than a page is continued in further rows (fpdf2 cannot split
    one row across pages); short rows pass through unchanged."""
    split = [text.split("\n") for text in texts]
    height = max(len(lines) for lines in split)
    if height <= max_lines:
        return [texts]
    return [
        ["\n".join(lines[start : start + max_lines]) for lines in split]
        for start in range(0, height, max_lines)
    ]


def _total_cells(total: tuple[Cell, ...]) -> list[tuple[str, int, int]]:
    """(text, first column, span): the 合计 label absorbs the empty cells after it,
    as in the printed annex."""
    cells: list[tuple[str, int, int]] = []
    for column, value in enumerate(total):
        if value is None and cells and isinstance(total[cells[-1][1]], str):
            text, first, span = cells[-1]
            cells[-1] = (text, first, span + 1)
        else:
            cells.append((format_cell(value), column, 1))
    return cells


def _write_preamble(pdf: FPDF, preamble: tuple[tuple[str, str], ...]) -> None:
    """The form's header block: a two-column table (label, value) above the main table."""
    label_width = 40.0
    inner = pdf.epw - label_width - _CELL_EXTRA
    with pdf.table(width=pdf.epw, col_widths=(label_width, pdf.epw - label_width),
                   line_height=_LINE_HEIGHT, first_row_as_headings=False,
                   wrapmode=WrapMode.CHAR, padding=_PADDING) as table:
        for label, value in preamble:
            row = table.row()
            row.cell(label, style=FontFace(emphasis="BOLD"))
            row.cell(cell_lines(pdf, value, inner)[0])
    pdf.ln(3)


def build_pdf(report: Report) -> FPDF:
    """The document object; `write_pdf` saves it."""
    font = find_cjk_font()
    pdf = _AnnexPdf(report.provenance.position)
    add_font(pdf, _FAMILY, "", font.path, font.index)
    bold_path = font.bold_path or font.path
    bold_index = font.bold_index if font.bold_path is not None else font.index
    add_font(pdf, _FAMILY, "B", bold_path, bold_index)  # the same face: parsed once
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.alias_nb_pages()
    pdf.set_creation_date(fixed_timestamp(report.provenance))
    lines = provenance_lines(report.provenance)
    pdf.set_title(report.title)
    pdf.set_author("Jixiao")
    pdf.set_creator("Jixiao")
    pdf.set_subject("预算绩效评价 (budget performance evaluation)")
    pdf.set_keywords("; ".join(lines))
    pdf.set_lang("zh-CN")

    pdf.add_page()
    pdf.set_font(_FAMILY, "B", 16)
    pdf.multi_cell(0, 10, report.title, align=Align.C, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    pdf.set_font(_FAMILY, size=_BODY_SIZE)
    if report.preamble:
        _write_preamble(pdf, report.preamble)
    cut = _write_table(pdf, report)
    for part in report.parts:
        pdf.ln(4)
        if pdf.will_page_break(30):  # keep a part's title with its first rows
            pdf.add_page()
        pdf.set_font(_FAMILY, "B", 12)
        pdf.multi_cell(0, 7, part.title, align=Align.L, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(_FAMILY, size=_BODY_SIZE)
        cut += _write_table(pdf, part)

    pdf.ln(4)
    pdf.set_font(_FAMILY, size=8)
    pdf.set_text_color(90)
    pdf.multi_cell(0, 4.5, "数据来源 (provenance)", new_x="LMARGIN", new_y="NEXT")
    for line in lines + ([cut_note(cut)] if cut else []):
        pdf.multi_cell(0, 4.5, line, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    return pdf


def _write_table(pdf: FPDF, report: Report) -> int:
    """The report's table (header repeated on every page, rows, total); the cells cut."""
    widths = _column_widths(pdf, report, pdf.epw)
    aligns = _alignments(report)
    with pdf.table(
        width=pdf.epw,
        col_widths=widths,
        line_height=_LINE_HEIGHT,
        text_align=tuple(aligns),
        wrapmode=WrapMode.CHAR,
        headings_style=FontFace(emphasis="BOLD", fill_color=(242, 242, 242)),
        repeat_headings=TableHeadingsDisplay.ON_TOP_OF_EVERY_PAGE,
        padding=_PADDING,
    ) as table:
        inner = [w - _CELL_EXTRA for w in widths]
        pdf.set_font(_FAMILY, "B", _BODY_SIZE)
        heading = table.row()
        for column, header in enumerate(report.headers):
            heading.cell(_header_text(pdf, header, inner[column]), align=Align.C)
        pdf.set_font(_FAMILY, "", _BODY_SIZE)
        max_lines = int((pdf.h - pdf.t_margin - pdf.b_margin - 25) / _LINE_HEIGHT)
        cut = 0
        for body in report.rows:
            texts = []
            for column, value in enumerate(body):
                text, was_cut = cell_lines(pdf, format_cell(value), inner[column])
                texts.append(text)
                cut += was_cut
            for chunk in _split_tall_row(texts, max_lines):
                row = table.row()
                for text in chunk:
                    row.cell(text)
        if report.total_row is not None:
            pdf.set_font(_FAMILY, "B", _BODY_SIZE)
            row = table.row(style=FontFace(emphasis="BOLD"))
            for text, first, span in _total_cells(report.total_row):
                label = isinstance(report.total_row[first], str)
                room = sum(inner[first : first + span])
                row.cell(
                    cell_lines(pdf, text, room)[0],
                    align=Align.C if label else aligns[first],
                    colspan=span,
                )
            pdf.set_font(_FAMILY, "", _BODY_SIZE)
    return cut


def pdf_bytes(report: Report) -> bytes:
    """The PDF as bytes; dates inside come from the ledger, not the clock."""
    return bytes(build_pdf(report).output())


def write_pdf(report: Report, out: Path) -> None:
    """Write the report as an A4 landscape PDF with an embedded CJK font."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pdf_bytes(report))
