"""The annex tables (附件1/附件2) as plain values, shared by views, exports and the offline
verifier (ledger.integrity.verifier), which replays them without the read side."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from ledger.grades import Grade


class AnnexKind(StrEnum):
    KEY_PROJECTS = "key-projects"  # 附件1 重点项目支出和政策
    DEPARTMENT_OVERALL = "department-overall"  # 附件2 部门整体支出

    def title_for(self, fiscal_year: int) -> str:
        if self is AnnexKind.KEY_PROJECTS:
            return f"{fiscal_year}年度重点项目支出和政策绩效评价情况表"
        return f"{fiscal_year}年度部门整体支出绩效评价情况表"


ANNEX_HEADERS: tuple[str, ...] = (
    "序号",
    "项目名称",
    "实施单位/牵头单位",
    "财政资金(单位:万元)",
    "评价情况",
    "评价等级",
)
TOTAL_LABEL = "合计"


@dataclass(frozen=True)
class AnnexRow:
    """One row of an annex table: 序号, 项目名称, 实施单位/牵头单位, 财政资金(万元),
    评价情况, 评价等级."""

    seq: int
    subject_id: str
    subject_name: str
    unit_name: str
    funds: Decimal
    assessment: str
    grade: Grade | None

    @property
    def grade_label(self) -> str | None:
        return None if self.grade is None else self.grade.label


@dataclass(frozen=True)
class Provenance:
    """Ties a printed table to the verifiable log."""

    position: int
    recorded_at: datetime | None = None
    checkpoint_origin: str | None = None
    checkpoint_size: int | None = None
    checkpoint_root: str | None = None  # base64, as in the checkpoint note


@dataclass(frozen=True)
class AnnexTable:
    """附件1 or 附件2 as of the enclosing moment, with the 合计 of 财政资金."""

    fiscal_year: int
    kind: AnnexKind
    rows: tuple[AnnexRow, ...]

    @property
    def title(self) -> str:
        return self.kind.title_for(self.fiscal_year)

    @property
    def total_funds(self) -> Decimal:
        return sum((r.funds for r in self.rows), Decimal("0.00")).quantize(Decimal("0.01"))

    @property
    def table(self) -> AnnexKind:
        return self.kind

    @property
    def headers(self) -> list[str]:
        return list(ANNEX_HEADERS)

    @property
    def total_label(self) -> str:
        return TOTAL_LABEL
