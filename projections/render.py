"""Print views for a terminal (replay): the annex tables with 合计, and the coverage lines.

Stored text is shown as text: escaped (ledger.text.printable) so that it cannot drive the
terminal, and never read as rich markup.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ledger.annex import ANNEX_HEADERS, TOTAL_LABEL, AnnexKind, AnnexTable
from ledger.text import printable
from projections.values import Moment
from projections.views import ReadModel


def annex_table(table: AnnexTable, caption: str = "") -> Table:
    out = Table(title=table.title, caption=caption, show_lines=False)
    for header in (*ANNEX_HEADERS[:4], ANNEX_HEADERS[5]):
        out.add_column(header, justify="right" if header.startswith("财政资金") else "left")
    for row in table.rows:
        out.add_row(str(row.seq), Text(printable(row.subject_name)),
                    Text(printable(row.unit_name)), format(row.funds, "f"),
                    row.grade.label if row.grade else "")
    out.add_row(TOTAL_LABEL, "", "", format(table.total_funds, "f"), "")
    return out


def print_moment(console: Console, read: ReadModel, moment: Moment, year: int | None) -> None:
    when = moment.recorded_at.isoformat() if moment.recorded_at else "—"
    console.print(f"as of position {moment.position} (recorded {when})")
    years = [year] if year else sorted({int(r[0]) for r in read.rows(
        "SELECT DISTINCT fiscal_year FROM subject_rows WHERE valid_from <= ?",
        (moment.position,))})
    for fiscal_year in years:
        for kind in AnnexKind:
            console.print(annex_table(read.evaluation_table(moment, fiscal_year, kind)))
        for line in read.coverage(moment, fiscal_year).statements():
            console.print(Text(printable(line, keep_newlines=True)))
