"""GraphQL types of the goal table (绩效目标表) and the indicator library (核心指标库),
declared from their records (schema/records.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from ledger.domain import goal_records, records
from schema.records import record_type

if TYPE_CHECKING:
    from ledger.domain.goal_records import GoalTable, LibraryIndicator
else:
    record_type(records.GoalIndicator)  # the same type as the subject's goals (cached)
    record_type(goal_records.FundsBySource, derived={"total": Decimal},
                descriptions={"current_appropriation": "本年财政拨款 (万元)",
                              "carried_over": "上年结转 (万元)", "other": "其他资金 (万元)"})
    record_type(goal_records.GoalStep)
    GoalTable = record_type(goal_records.GoalTable)
    LibraryIndicator = record_type(goal_records.LibraryIndicator)

__all__ = ["GoalTable", "LibraryIndicator"]
