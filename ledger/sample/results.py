"""The sample's results application across years (结果应用): the report's sentences as data.

The report says the 2022 grades were applied to the next budget (优 → 优先安排), that idle
and surplus funds were recovered (收回结余沉淀闲置资金), and that the 财政运行综合绩效 of the
townships is linked to transfer payments. It gives no amounts for these: every amount here
is illustrative and its remarks say 示例.
"""

from __future__ import annotations

from datetime import date
from typing import Any

NEXT_YEAR = 2023
ILLUSTRATIVE = "（示例金额，报告未载明具体数额）"
# (2022 subject, its unit, the 2023 request, illustrative amount in 万元)
REQUESTS = (
    ("XS-2022-KP-01", "XS-U01", "XS-2023-REQ-01", "548.95"),
    ("XS-2022-KP-06", "XS-U05", "XS-2023-REQ-02", "524.35"),
)
TOWNSHIP = ("XS-U05", "XS-2022-KP-08")  # 渠沟镇 and its 2022 财政运行综合绩效


def load_results(run: Any) -> None:
    """After the 2022 subjects and their grades: the 2023 cycle, requests, consequences."""
    run("open_fiscal_year", str(NEXT_YEAR), fiscal_year=NEXT_YEAR,
        effective_on=date(2023, 1, 1))
    for subject, unit, request, amount in REQUESTS:
        run("record_budget_request", request, fiscal_year=NEXT_YEAR, code=request,
            unit_code=unit, subject_code=subject, funding_source="一般公共预算",
            requested_amount=amount, effective_on=date(2023, 4, 25))
    # 加大盘活存量资金力度，及时清理收回结余沉淀闲置资金
    run("apply_result", "recover-KP-06", subject_code="XS-2022-KP-06", kind="recover",
        amount="20.00", cites_kind="grade",
        remarks="清理收回结余沉淀闲置资金，统筹用于保基本民生" + ILLUSTRATIVE,
        effective_on=date(2023, 4, 28))
    # 将全区各预算单位财政运行综合绩效与转移支付分配挂钩
    unit, basis = TOWNSHIP
    run("link_transfer", "TR-01", fiscal_year=NEXT_YEAR, code="XS-2023-TR-01",
        recipient_unit_code=unit, programme="对镇街均衡性转移支付（示例）", amount="500.00",
        direction="maintain", basis_subject_code=basis, effective_on=date(2023, 4, 28))
    run("apply_result", "transfer-KP-08", subject_code=basis, kind="transfer_link",
        cites_kind="grade", target_kind="transfer", target_id="XS-2023-TR-01",
        remarks="财政运行综合绩效评价为良，转移支付维持" + ILLUSTRATIVE,
        effective_on=date(2023, 4, 28))
    for _subject, _unit, request, amount in REQUESTS:
        run("arrange_budget", request, fiscal_year=NEXT_YEAR, request_code=request,
            arranged_amount=amount, remarks="示例安排数", effective_on=date(2023, 5, 10))
