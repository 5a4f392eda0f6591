"""A format-neutral table (`Report`) that every exporter writes.

The writers take a `Report`, not an `AnnexTable`, so that the annex tables and
later views (coverage tables, monitoring summaries) share one set of writers
and one way of stamping provenance onto what leaves the system.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal

from ledger.annex import ANNEX_HEADERS, TOTAL_LABEL, AnnexTable, Provenance

Cell = str | int | Decimal | None
"""One table cell. Amounts are `Decimal`, never float, so exports stay exact."""

CENT = Decimal("0.01")

# Stable stand-in for "no recorded time": keeps files byte-identical between runs.
FIXED_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Report:
    """A titled table with an optional closing total row and its provenance.

    `numeric_columns` are amount columns (written as numbers with two decimals);
    `wrap_columns` hold long prose (e.g. 评价情况) that must wrap, not widen.
    `name` is an ASCII slug for file and package names; `fiscal_year` is used
    by formats that carry the period as data (the fiscal data package).
    `parts` are further tables of the same document, each with its own title, headers and
    total row (e.g. the results ledger's totals and next year's requests): the xlsx gives
    each its own sheet, the PDF prints them after this table under their titles, the CSV
    after a blank row; all under this report's provenance (a part's own is not printed).
    """

    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    provenance: Provenance
    total_row: tuple[Cell, ...] | None = None
    numeric_columns: frozenset[int] = field(default_factory=frozenset)
    wrap_columns: frozenset[int] = field(default_factory=frozenset)
    name: str = "report"
    fiscal_year: int | None = None
    # Labelled lines between the title and the table (a form's header block, e.g. the goal
    # table's 项目名称 … 年度总体目标); the annex tables have none.
    preamble: tuple[tuple[str, str], ...] = ()
    parts: tuple[Report, ...] = ()

    def __post_init__(self) -> None:
        width = len(self.headers)
        if width == 0:
            raise ValueError("a report needs at least one column")
        for index, row in enumerate(self.rows, start=1):
            if len(row) != width:
                raise ValueError(f"row {index} has {len(row)} cells, expected {width}")
        if self.total_row is not None and len(self.total_row) != width:
            raise ValueError(f"total row has {len(self.total_row)} cells, expected {width}")
        for column in self.numeric_columns | self.wrap_columns:
            if not 0 <= column < width:
                raise ValueError(f"column index {column} outside 0..{width - 1}")
        if not self.name or not all(c.isascii() and (c.isalnum() or c in "-_.") for c in self.name):
            raise ValueError(f"report name must be an ASCII slug, got {self.name!r}")
        if any(part.parts for part in self.parts):
            raise ValueError("a part of a report has no parts of its own")

    def stamped(self, provenance: Provenance) -> Report:
        """The report and its parts under another provenance (e.g. a package's checkpoint)."""
        return replace(self, provenance=provenance,
                       parts=tuple(replace(p, provenance=provenance) for p in self.parts))

    @property
    def all_rows(self) -> tuple[tuple[Cell, ...], ...]:
        """Body rows followed by the total row, in print order."""
        return self.rows + ((self.total_row,) if self.total_row is not None else ())


def report_from_annex(table: AnnexTable, provenance: Provenance) -> Report:
    """Lay an annex table out exactly as the published 附件 (headers, 合计 row)."""
    rows = tuple(
        (
            row.seq,
            row.subject_name,
            row.unit_name,
            row.funds,
            row.assessment,
            row.grade.label if row.grade is not None else None,
        )
        for row in table.rows
    )
    total: tuple[Cell, ...] = (TOTAL_LABEL, None, None, table.total_funds, None, None)
    return Report(
        title=table.title,
        headers=ANNEX_HEADERS,
        rows=rows,
        provenance=provenance,
        total_row=total,
        numeric_columns=frozenset({3}),
        wrap_columns=frozenset({4}),
        name=f"annex-{table.kind.value}-{table.fiscal_year}",
        fiscal_year=table.fiscal_year,
    )


def format_decimal(value: Decimal) -> str:
    """Two decimals for amounts ("53.00"); finer values are kept, never rounded."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        value = value.quantize(CENT)
    return format(value, "f")


def format_cell(value: Cell) -> str:
    """The text form of a cell as every text format writes it."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format_decimal(value)
    return str(value)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def provenance_dict(p: Provenance) -> dict[str, object]:
    """Provenance as plain JSON values, in a fixed key order."""
    return {
        "position": p.position,
        "recorded_at": _iso(p.recorded_at),
        "checkpoint_origin": p.checkpoint_origin,
        "checkpoint_size": p.checkpoint_size,
        "checkpoint_root": p.checkpoint_root,
    }


def provenance_lines(p: Provenance) -> list[str]:
    """Human-readable provenance, Chinese first with the English term in brackets.

    Printed under every exported table so a reader can tie the paper back to a
    verifiable point in the log.
    """
    lines = [f"数据截至账本位置 {p.position} (ledger position)"]
    if p.recorded_at is not None:
        lines.append(f"记录时间 {p.recorded_at.isoformat()} (recorded at)")
    if p.checkpoint_origin is not None or p.checkpoint_size is not None:
        parts = []
        if p.checkpoint_origin is not None:
            parts.append(f"来源 {p.checkpoint_origin} (origin)")
        if p.checkpoint_size is not None:
            parts.append(f"大小 {p.checkpoint_size} (size)")
        lines.append("检查点 (checkpoint): " + "，".join(parts))
    if p.checkpoint_root is not None:
        lines.append(f"检查点根 {p.checkpoint_root} (checkpoint root)")
    else:
        lines.append("检查点 (checkpoint): 无，尚无覆盖此位置的签名检查点 "
                     "(none covers this position)")
    return lines


def fixed_timestamp(p: Provenance) -> datetime:
    """The one timestamp a file may carry: the ledger's, never the wall clock."""
    moment = p.recorded_at if p.recorded_at is not None else FIXED_EPOCH
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def column_is_integer(report: Report, column: int) -> bool:
    """True when every body cell of the column is an int (e.g. 序号)."""
    values = [row[column] for row in report.rows if row[column] is not None]
    return bool(values) and all(isinstance(v, int) for v in values)


def display_width(text: str) -> int:
    """Width in half-width units: CJK and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def longest_line(values: Sequence[str]) -> int:
    """Widest single line among the values, in half-width units."""
    return max((display_width(line) for v in values for line in v.splitlines() or [""]), default=0)
