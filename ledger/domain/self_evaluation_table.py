"""The self-evaluation table's versions and the finance bureau's review of them (绩效自评).

A mixin of the Subject aggregate: each submission is a new version, kept with the others;
the bureau accepts or returns (with reasons) the latest one; a grade may rest only on the
latest accepted version (`self_evaluation`). Submissions stored before the review step
existed count as accepted, so the grades and views built on them stay as they were.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate, Meta
from ledger.domain.record_values import opt_decimal as _opt
from ledger.domain.records import CorrectedValue, NamedPoints, SelfEvaluation, restate
from ledger.domain.self_evaluation_records import (
    SelfEvaluationBudgetLine,
    SelfEvaluationIndicator,
    SelfEvaluationTotal,
)
from ledger.errors import RuleViolation

SUBMITTED, ACCEPTED, RETURNED = "submitted", "accepted", "returned"


class SelfEvaluationTable(LedgerAggregate):
    if TYPE_CHECKING:  # set by Subject.__init__; a class annotation would be an event field
        self_evaluation: SelfEvaluation | None  # the latest accepted version: the basis
        self_evaluations: tuple[SelfEvaluation, ...]  # every version, in order

    def check_can_submit_self_evaluation(self) -> None:
        latest = self.self_evaluations[-1] if self.self_evaluations else None
        if latest is not None and latest.status == SUBMITTED:
            raise RuleViolation("SELF_EVALUATION_AWAITS_REVIEW",
                                f"version {latest.version} awaits the finance bureau's review",
                                field="subjectCode",
                                rule="a resubmission follows the review of the last one")

    def record_self_evaluation(self, score: Decimal, parts: Mapping[str, Decimal],
                               table: Mapping[str, Any] | None, rule_version: int,
                               meta: Meta) -> int:
        """Keep a submitted version (the body of Subject.SelfEvaluationSubmitted)."""
        number = len(self.self_evaluations) + 1
        named = tuple(NamedPoints(name=k, points=v) for k, v in parts.items())
        if table is None:  # stored by a build without the table or the review: accepted
            version = SelfEvaluation(score=score, parts=named, version=number,
                                     rule_version=rule_version,
                                     submitted_on=meta.effective_on,
                                     submitted_by=meta.actor_id)
        else:
            version = SelfEvaluation(
                score=score, parts=named, version=number, status=SUBMITTED,
                rule_version=rule_version, rule=str(table.get("rule") or ""),
                initial_budget=_opt(table.get("initial_budget")),
                full_year_budget=_opt(table.get("full_year_budget")),
                executed=_opt(table.get("executed")),
                execution_rate=_opt(table.get("execution_rate")),
                budget_lines=tuple(map(SelfEvaluationBudgetLine.of, table.get("lines") or ())),
                indicators=tuple(map(SelfEvaluationIndicator.of, table.get("indicators") or ())),
                totals=tuple(map(SelfEvaluationTotal.of, table.get("totals") or ())),
                submitted_on=meta.effective_on, submitted_by=meta.actor_id)
        self._keep_versions((*self.self_evaluations, version))
        return number

    def review_self_evaluation(self, version: int, accept: bool, reasons: list[str],
                               comments: str, meta: Meta) -> None:
        latest = self.self_evaluations[-1] if self.self_evaluations else None
        if latest is None or latest.version != version:
            raise RuleViolation("SELF_EVALUATION_NOT_LATEST",
                                f"version {version} is not the latest self-evaluation"
                                + (f" (that is {latest.version})" if latest else " (none)"),
                                field="version", rule="the bureau reviews the latest version")
        if latest.status != SUBMITTED:
            raise RuleViolation("SELF_EVALUATION_REVIEWED", f"version {version} is already "
                                f"{latest.status}", field="version",
                                rule="a version is reviewed once")
        if accept:
            self._self_evaluation_accepted(version=version, comments=comments, meta=meta)
            return
        if not any(r.strip() for r in reasons):
            raise RuleViolation("RETURN_NEEDS_REASONS", "a returned self-evaluation needs "
                                "reasons", field="reasons", rule="a return says what to change")
        self._self_evaluation_returned(version=version, reasons=reasons, comments=comments,
                                       meta=meta)

    @event("SelfEvaluationAccepted")
    def _self_evaluation_accepted(self, version: int, comments: str, meta: Meta) -> None:
        self._set_review(version, ACCEPTED, (), comments, meta)

    @event("SelfEvaluationReturned")
    def _self_evaluation_returned(self, version: int, reasons: list[str], comments: str,
                                  meta: Meta) -> None:
        self._set_review(version, RETURNED, tuple(reasons), comments, meta)

    def _set_review(self, version: int, status: str, reasons: tuple[str, ...], comments: str,
                    meta: Meta) -> None:
        self._keep_versions(tuple(
            replace(v, status=status, reviewed_on=meta.effective_on, review_reasons=reasons,
                    review_comments=comments) if v.version == version else v
            for v in self.self_evaluations))

    def restate_self_evaluation(self, version: int,
                                values: Mapping[str, CorrectedValue]) -> None:
        """A correction of a submission restates that version (its score)."""
        self._keep_versions(tuple(restate(v, values) if v.version == version else v
                                  for v in self.self_evaluations))

    def _keep_versions(self, versions: tuple[SelfEvaluation, ...]) -> None:
        self.self_evaluations = versions
        accepted = [v for v in versions if v.status == ACCEPTED]
        self.self_evaluation = accepted[-1] if accepted else None


