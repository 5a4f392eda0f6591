"""The sample answers: which 2022 subjects got which 2023 consequence and why (basis event,
rule version), with totals; the township's 财政运行综合绩效 linked to a transfer."""

from __future__ import annotations

from decimal import Decimal

from ledger.application import Ledger
from ledger.domain.fiscal_year import FiscalYear, year_id
from ledger.sample.loader import load_sample, seed_rows, subject_code
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
