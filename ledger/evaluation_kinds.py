"""Whose evaluation it is, and which evaluation a grade rests on (docs/domain.md#lifecycle,
steps 5 and 7).

The kind of an evaluation says whose it is: a 财政评价 is the finance bureau's, a 部门评价 is
the 主管部门's (the department over the subject's unit), and the 单位自评 is the unit's own
(`submit_self_evaluation`, never `record_evaluation`). A commission says who did the work (an
agency); it does not change whose evaluation it is.

Pure: the aggregate, the permissions and the offline verifier all read these rules, and the
verifier imports no eventsourcing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

FINANCE = "finance"  # 财政评价
DEPARTMENT = "department"  # 部门评价
KINDS = (FINANCE, DEPARTMENT)  # what record_evaluation records, highest precedence first

# Stored by earlier builds for an evaluation an agency recorded under a commission, whoever had
# commissioned it. Never recorded now; read as the kind of the commission it cites.
LEGACY_THIRD_PARTY = "third_party"

# The unit kinds (ledger.commands.RegisterUnit.kind) that commission and record each kind.
FINANCE_BUREAU_UNIT = "finance_bureau"
DEPARTMENT_UNIT = "department"

T = TypeVar("T")


def commissioned_kind(commissioner_unit_kind: str) -> str | None:
    """The kind of evaluation a unit of this kind commissions; None: it commissions none."""
    return {FINANCE_BUREAU_UNIT: FINANCE, DEPARTMENT_UNIT: DEPARTMENT}.get(commissioner_unit_kind)


def legacy_commission_kind(recorded_by_budget_unit: bool) -> str:
    """The kind of a commission stored before commissions said it (an earlier build).

    The commission names its commissioner by unit code only, and neither the subject's events
    nor a replay of them can see that unit's kind. What the commission's own event does carry
    is who recorded it: a budget unit could then commission only as itself or a unit under it,
    so its commissions were a department's; the finance bureau and the operator's tooling
    recorded the bureau's own. (A commission the bureau recorded naming a department is read as
    the bureau's: the one case this cannot tell apart, and none was stored by the sample, the
    importer or the golden log.)
    """
    return DEPARTMENT if recorded_by_budget_unit else FINANCE


def rank(kind: str) -> int:
    """0 for a 财政评价, 1 for a 部门评价; lower ranks first."""
    return KINDS.index(kind) if kind in KINDS else len(KINDS)


def ranked(items: Iterable[tuple[str, T]]) -> T | None:
    """The item of the highest-precedence kind, the latest recorded within that kind.

    `items` are (kind, item) in the order recorded. Precedence, not recency: a later 部门评价
    never displaces a 财政评价.
    """
    best: T | None = None
    best_rank = len(KINDS) + 1
    for kind, item in items:
        if (r := rank(kind)) <= best_rank:
            best, best_rank = item, r
    return best
