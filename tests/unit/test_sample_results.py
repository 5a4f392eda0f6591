"""The sample answers: which 2022 subjects got which 2023 consequence and why (basis event,
rule version), with totals; the township's 财政运行综合绩效 linked to a transfer; and which
2022 requests had priority for a 2021 spot check graded 优."""

from __future__ import annotations

from decimal import Decimal

from ledger.application import Ledger
from ledger.domain.fiscal_year import FiscalYear, year_id
from ledger.sample.loader import load_sample, seed_rows, subject_code
from ledger.sample.previous_year import SUBJECTS as SUBJECTS_2021
from projections.results_ledger import results_ledger


def test_the_sample_answers_what_the_2022_grades_did_to_2023(memory_ledger: Ledger) -> None:
    load_sample(memory_ledger)
    subjects = [memory_ledger.subject(subject_code(r)) for r in seed_rows()]
    next_year = memory_ledger.load(year_id(2023))
    assert isinstance(next_year, FiscalYear)
    table = results_ledger(2022, subjects, next_year)
    by_effect = {(r.subject_code, r.effect): r for r in table.rows}
    priority = by_effect["XS-2022-KP-01", "priority"]
    assert (priority.basis_kind, priority.basis_grade_label, priority.rule_version,
            priority.target_fiscal_year) == ("grade", "优", 2, 2023)
    assert priority.basis_position is not None
    assert (table.priority_count, table.recovered_total) == (2, Decimal("20.00"))
    assert by_effect["XS-2022-KP-08", "transfer_link"].target_id == "XS-2023-TR-01"
    [transfer] = table.transfers
    assert (transfer.recipient_unit_code, transfer.basis_subject_code) == ("XS-U05",
                                                                          "XS-2022-KP-08")
    requests = {q.code: q for q in table.requests}
    assert requests["XS-2023-REQ-01"].priority and not requests["XS-2023-REQ-02"].priority
    assert table.arranged_total == table.requested_total == Decimal("1073.30")


def test_the_sample_gives_2022_requests_priority_for_2021_spot_checks_of_excellent(
        memory_ledger: Ledger) -> None:
    """The report: 对2021年抽查评级为优的各预算单位申请预算资金给予优先安排."""
    load_sample(memory_ledger)
    subjects = [memory_ledger.subject(code) for code, *_ in SUBJECTS_2021]
    requests_year = memory_ledger.load(year_id(2022))
    assert isinstance(requests_year, FiscalYear)
    assert isinstance(memory_ledger.load(year_id(2021)), FiscalYear)  # the 2021 cycle
    table = results_ledger(2021, subjects, requests_year)
    assert [(r.subject_code, r.effect, r.target_kind, r.target_id) for r in table.rows] == [
        ("XS-2021-DO-01", "priority", "budget_request", "XS-2022-REQ-01"),
        ("XS-2021-DO-02", "priority", "budget_request", "XS-2022-REQ-02")]
    for row in table.rows:
        graded = memory_ledger.subject(row.subject_code)
        assert graded.grade is not None and graded.grade.basis_kind == "spot_check"
        assert (row.basis_kind, row.basis_id) == ("spot_check", graded.grade.basis_id)
        assert graded.spot_checks[row.basis_id].plan_id == "XS-2021-CCFH"
        assert (row.basis_grade_label, row.rule_wording, row.target_fiscal_year) == (
            "优", "优先安排", 2022)
        assert row.rule_version is not None and row.basis_position is not None
        assert "示例" in row.remarks
    assert all(q.priority and q.arranged_amount == q.requested_amount for q in table.requests)
    assert (table.priority_count, table.arranged_total) == (2, Decimal("760.85"))
    # a continuing project: 2022's 农村最低生活保障金 names its 2021 predecessor
    continued = memory_ledger.subject("XS-2022-KP-05")
    assert continued.predecessor_code == "XS-2021-KP-01"
    assert requests_year.request("XS-2022-REQ-01").subject_code == "XS-2021-KP-01"
