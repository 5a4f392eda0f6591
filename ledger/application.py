"""The ledger application service: one method per command (these become mutations)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVar

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from ledger import commands as c
from ledger.domain.base import LedgerAggregate, Meta
from ledger.domain.disclosure import Disclosure
from ledger.domain.registry import RULEBOOK_ID, Agency, Expert, RuleBook, Unit
from ledger.domain.subject import Subject
from ledger.errors import InvalidInput, RuleViolation
from ledger.evaluation_checks import (
    check_dimensions,
    check_evaluator,
    check_published_grade,
    kind_commissioned_by,
)
from ledger.monitoring import deviation_warnings, execution_rate
from ledger.permissions import check_commissioner, check_own_agency, units_over
from ledger.rules import RuleSet
from ledger.runtime import SYSTEM, Actor, CommandResult, LedgerBase, new_id, parse_command
from ledger.scoring import score_self_evaluation

C = TypeVar("C", bound=c.Command)
Input = dict[str, Any] | c.Command
Decision = tuple[Sequence[Aggregate], dict[str, str]]


def _as(model: type[C], data: Input) -> C:
    if isinstance(data, model):
        return data
    if isinstance(data, c.Command):
        data = data.model_dump()
    return parse_command(model, data)


class Ledger(LedgerBase):
    """Every lifecycle step of 预算绩效管理 as a command that records immutable events."""

    # -- registry --------------------------------------------------------------------------

    def register_unit(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.RegisterUnit, data)

        def decide(meta: Meta) -> Decision:
            self._absent("unit", cmd.code, "code")
            if cmd.parent_code is not None:
                self.check_unit(cmd.parent_code, "parentCode")
            return [Unit(code=cmd.code, name=cmd.name, kind=cmd.kind,
                         parent_code=cmd.parent_code, meta=meta)], {}
        return self.run("register_unit", cmd, actor, decide)

    def register_subject(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.RegisterSubject, data)

        def decide(meta: Meta) -> Decision:
            self._absent("subject", cmd.code, "code")
            self.check_unit(cmd.unit_code)
            return [Subject(code=cmd.code, name=cmd.name, kind=cmd.kind,
                            fiscal_year=cmd.fiscal_year, unit_code=cmd.unit_code,
                            funds=cmd.funds, is_new=cmd.is_new, is_key=cmd.is_key,
                            tags=list(cmd.tags), meta=meta)], {}
        return self.run("register_subject", cmd, actor, decide)

    def admit_agency(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.AdmitAgency, data)

        def decide(meta: Meta) -> Decision:
            self._absent("agency", cmd.code, "code")
            return [Agency(code=cmd.code, name=cmd.name, qualification=cmd.qualification,
                           meta=meta)], {}
        return self.run("admit_agency", cmd, actor, decide)

    def declare_agency_relationship(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.DeclareAgencyRelationship, data)

        def decide(meta: Meta) -> Decision:
            check_own_agency(actor.role, actor.agency_code, cmd.code)
            agency = self.agency(cmd.code)
            self.check_unit(cmd.unit_code)
            agency.declare_relationship(cmd.unit_code, cmd.relationship, meta)
            return [agency], {}
        return self.run("declare_agency_relationship", cmd, actor, decide)

    def assess_agency(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.AssessAgency, data)

        def decide(meta: Meta) -> Decision:
            agency = self.agency(cmd.code)
            agency.assess(year=cmd.year, score=cmd.score, rating=cmd.rating,
                          remarks=cmd.remarks, meta=meta)
            return [agency], {}
        return self.run("assess_agency", cmd, actor, decide)

    def suspend_agency(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.SuspendAgency, data)

        def decide(meta: Meta) -> Decision:
            agency = self.agency(cmd.code)
            agency.suspend(cmd.reason, meta)
            return [agency], {}
        return self.run("suspend_agency", cmd, actor, decide)

    def reinstate_agency(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.ReinstateAgency, data)

        def decide(meta: Meta) -> Decision:
            agency = self.agency(cmd.code)
            agency.reinstate(cmd.reason, meta)
            return [agency], {}
        return self.run("reinstate_agency", cmd, actor, decide)

    def remove_agency(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.RemoveAgency, data)

        def decide(meta: Meta) -> Decision:
            agency = self.agency(cmd.code)
            agency.remove(cmd.reason, meta)
            return [agency], {}
        return self.run("remove_agency", cmd, actor, decide)

    def admit_expert(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.AdmitExpert, data)

        def decide(meta: Meta) -> Decision:
            self._absent("expert", cmd.code, "code")
            return [Expert(code=cmd.code, name=cmd.name, fields=list(cmd.fields), meta=meta)], {}
        return self.run("admit_expert", cmd, actor, decide)

    def remove_expert(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.RemoveExpert, data)

        def decide(meta: Meta) -> Decision:
            expert = self.expert(cmd.code)
            expert.remove(cmd.reason, meta)
            return [expert], {}
        return self.run("remove_expert", cmd, actor, decide)

    def adopt_rules(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.AdoptRules, data)
        try:
            rules = RuleSet.model_validate(cmd.rules)
        except ValueError as exc:
            raise InvalidInput(f"rules: {exc}", field="rules", rule="rule set schema") from None

        def decide(meta: Meta) -> Decision:
            book: Aggregate
            try:
                book = self.load(RULEBOOK_ID)
            except AggregateNotFoundError:  # the first adoption opens the book
                book = RuleBook(meta=meta)
            assert isinstance(book, RuleBook)
            book.adopt(rules.model_dump(mode="json"), meta)
            return [book], {}
        return self.run("adopt_rules", cmd, actor, decide)

    # -- ex-ante and goals -------------------------------------------------------------------

    def record_ex_ante_assessment(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.RecordExAnteAssessment, data)

        def decide(meta: Meta) -> Decision:
            subject = self.subject(cmd.subject_code)
            assessment_id = new_id("exa")
            subject.record_ex_ante(assessment_id=assessment_id,
                                   dimensions={str(k): v for k, v in cmd.dimensions.items()},
                                   conclusion=cmd.conclusion, remarks=cmd.remarks, meta=meta)
            return [subject], {"assessmentId": assessment_id}
        return self.run("record_ex_ante_assessment", cmd, actor, decide)

    def declare_goals(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.DeclareGoals, data)

        def decide(meta: Meta) -> Decision:
            subject = self.subject(cmd.subject_code)
            subject.declare_goals([i.model_dump() for i in cmd.indicators], meta)
            return [subject], {}
        return self.run("declare_goals", cmd, actor, decide)

    def review_goals(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.ReviewGoals, data)

        def decide(meta: Meta) -> Decision:
            subject = self.subject(cmd.subject_code)
            rules = self._rules_for(subject, cmd.effective_on)
            subject.review_goals(cmd.decision == "approve", cmd.comments,
                                 rules.ex_ante_threshold, meta)
            return [subject], {}
        return self.run("review_goals", cmd, actor, decide)

    def adjust_goals(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.AdjustGoals, data)

        def decide(meta: Meta) -> Decision:
            subject = self.subject(cmd.subject_code)
            subject.adjust_goals([i.model_dump() for i in cmd.indicators], cmd.reason, meta)
            return [subject], {}
        return self.run("adjust_goals", cmd, actor, decide)

    # -- monitoring and evaluation -------------------------------------------------------------

    def record_monitoring(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.RecordMonitoring, data)

        def decide(meta: Meta) -> Decision:
            subject = self.subject(cmd.subject_code)
            check_window(cmd.window_start, cmd.window_end, subject.fiscal_year)
            subject.check_goals_approved("monitoring")
            unknown = sorted({i.name for i in cmd.indicators} - subject.indicator_names())
            if unknown:
                raise RuleViolation("UNKNOWN_INDICATOR", f"not in the approved goals: "
                                    f"{', '.join(unknown)}", field="indicators.name",
                                    rule="monitoring reports on approved indicators")
            rules = self._rules_for(subject, cmd.window_end)
            rate = execution_rate(cmd.budget_amount, cmd.executed_amount)
            progress = [i.model_dump() for i in cmd.indicators]
            warnings = deviation_warnings(rules.monitoring, subject.fiscal_year, cmd.window_end,
                                          rate, progress)
            snapshot_id = new_id("mon")
            subject.record_monitoring(
                snapshot_id=snapshot_id, round_name=cmd.round_name,
                window_start=cmd.window_start, window_end=cmd.window_end,
                budget_amount=cmd.budget_amount, executed_amount=cmd.executed_amount,
                execution_rate=rate, indicators=progress, warnings=warnings,
                rule_version=rules.version, meta=meta)
            return [subject], {"snapshotId": snapshot_id}
        return self.run("record_monitoring", cmd, actor, decide)

    def submit_self_evaluation(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.SubmitSelfEvaluation, data)

        def decide(meta: Meta) -> Decision:
            subject = self.subject(cmd.subject_code)
            subject.check_goals_approved("self-evaluation")
            rules = self._rules_for(subject, cmd.effective_on)
            score, parts = score_self_evaluation(
                subject.indicators, [r.model_dump() for r in cmd.indicator_results],
                cmd.budget_amount, cmd.executed_amount, rules.self_evaluation)
            subject.submit_self_evaluation(
                score=score, parts=parts,
                indicator_results=[r.model_dump() for r in cmd.indicator_results],
                rule_version=rules.version, meta=meta)
            return [subject], {"score": str(score)}
        return self.run("submit_self_evaluation", cmd, actor, decide)

    def commission_evaluation(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.CommissionEvaluation, data)

        def decide(meta: Meta) -> Decision:
            subject = self.subject(cmd.subject_code)
            agency = self.agency(cmd.agency_code)
            agency.check_can_evaluate()
            kind = kind_commissioned_by(self, cmd.commissioned_by, subject)
            check_commissioner(actor.role, actor.unit_code, cmd.commissioned_by, kind)
            agency.check_independent([cmd.commissioned_by,
                                      *units_over(subject.unit_code, self.parent_of)])
            commission_id = new_id("com")
            subject.commission(commission_id, cmd.agency_code, cmd.commissioned_by, kind, meta)
            return [subject], {"commissionId": commission_id}
        return self.run("commission_evaluation", cmd, actor, decide)

    def record_evaluation(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.RecordEvaluation, data)

        def decide(meta: Meta) -> Decision:
            subject = self.subject(cmd.subject_code)
            kind = check_evaluator(self, actor, cmd, subject)
            rules = self._rules_for(subject, cmd.evaluated_on)
            score = (check_dimensions(subject.kind, cmd.dimensions, rules) if cmd.dimensions
                     else None)
            if score is not None and cmd.published_grade is not None:
                check_published_grade(score, cmd.published_grade, rules)
            evaluation_id = cmd.evaluation_id or new_id("eva")
            if evaluation_id in subject.evaluations:
                raise RuleViolation("EVALUATION_EXISTS", f"evaluation {evaluation_id!r} is "
                                    "already recorded", field="evaluationId",
                                    rule="evaluation ids are unique per subject")
            subject.record_evaluation(
                evaluation_id=evaluation_id, evaluation_kind=kind,
                commission_id=cmd.commission_id, agency_code=cmd.agency_code,
                dimensions=[d.model_dump() for d in cmd.dimensions], score=score,
                published_grade=None if cmd.published_grade is None
                else cmd.published_grade.value, findings=list(cmd.findings),
                narrative=cmd.narrative, evaluated_on=cmd.evaluated_on,
                rule_version=rules.version, meta=meta)
            scored = {} if score is None else {"score": str(score)}  # none: grade only
            return [subject], {"evaluationId": evaluation_id, **scored}
        return self.run("record_evaluation", cmd, actor, decide)

    def record_spot_check(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.RecordSpotCheck, data)

        def decide(meta: Meta) -> Decision:
            subject = self.subject(cmd.subject_code)
            subject.check_reviewable(cmd.reviews)
            spot_check_id = new_id("spc")
            subject.record_spot_check(spot_check_id=spot_check_id, reviews=cmd.reviews,
                                      score=cmd.score, findings=list(cmd.findings), meta=meta)
            return [subject], {"spotCheckId": spot_check_id}
        return self.run("record_spot_check", cmd, actor, decide)

    def assign_grade(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.AssignGrade, data)

        def decide(meta: Meta) -> Decision:
            subject = self.subject(cmd.subject_code)
            rules = self._rules_for(subject, cmd.effective_on)
            subject.assign_grade(cmd.grade, cmd.basis_kind, cmd.basis_id,
                                 rules.grade_scale, rules.version, meta)
            return [subject], {}
        return self.run("assign_grade", cmd, actor, decide)

    def apply_result(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.ApplyResult, data)

        def decide(meta: Meta) -> Decision:
            subject = self.subject(cmd.subject_code)
            result_id = new_id("res")
            subject.apply_result(result_id, cmd.kind, cmd.amount, cmd.cites_kind, cmd.cites_id,
                                 cmd.remarks, meta)
            return [subject], {"resultId": result_id}
        return self.run("apply_result", cmd, actor, decide)

    # -- rectification, disclosure, corrections -------------------------------------------------

    def request_rectification(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.RequestRectification, data)

        def decide(meta: Meta) -> Decision:
            subject = self.subject(cmd.subject_code)
            rectification_id = new_id("rec")
            subject.request_rectification(rectification_id=rectification_id,
                                          items=list(cmd.items), deadline=cmd.deadline, meta=meta)
            return [subject], {"rectificationId": rectification_id}
        return self.run("request_rectification", cmd, actor, decide)

    def report_rectification(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.ReportRectification, data)

        def decide(meta: Meta) -> Decision:
            subject = self.subject(cmd.subject_code)
            subject.report_rectification(cmd.rectification_id, cmd.report, meta)
            return [subject], {}
        return self.run("report_rectification", cmd, actor, decide)

    def review_rectification(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.ReviewRectification, data)

        def decide(meta: Meta) -> Decision:
            subject = self.subject(cmd.subject_code)
            subject.review_rectification(cmd.rectification_id, cmd.decision == "accept",
                                         cmd.comments, meta)
            return [subject], {}
        return self.run("review_rectification", cmd, actor, decide)

    def record_disclosure(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.RecordDisclosure, data)

        def decide(meta: Meta) -> Decision:
            for code in cmd.subject_codes:
                self.subject(code)
            disclosure_id = cmd.command_id
            return [Disclosure(disclosure_id=disclosure_id, fiscal_year=cmd.fiscal_year,
                               audience=cmd.audience, title=cmd.title,
                               subject_codes=list(cmd.subject_codes),
                               content_hash=cmd.content_hash,
                               content_position=cmd.content_position,
                               checkpoint=cmd.checkpoint, meta=meta)], {
                                   "disclosureId": disclosure_id}
        return self.run("record_disclosure", cmd, actor, decide)

    def correct_event(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.CorrectEvent, data)

        def decide(meta: Meta) -> Decision:
            aggregate_id, version, topic = self.event_at(cmd.position)
            target = self.load(aggregate_id)
            if not isinstance(target, LedgerAggregate):
                raise RuleViolation("NOT_CORRECTABLE", f"{topic} cannot be corrected",
                                    field="position", rule="only factual events are corrected")
            event_name = topic.rsplit(".", 1)[-1]
            target.correct(version, event_name, cmd.values, cmd.reason, meta)
            return [target], {"corrects": str(cmd.position)}
        return self.run("correct_event", cmd, actor, decide)

    # -- helpers --------------------------------------------------------------------------------

    def _rules_for(self, subject: Subject, on: date | None) -> RuleSet:
        return self.rules_in_force(on or date(subject.fiscal_year, 12, 31))


def check_window(start: date, end: date, fiscal_year: int) -> None:
    if start > end:
        raise InvalidInput("window_start is after window_end", field="windowEnd",
                           rule="a window starts before it ends")
    if start.year != fiscal_year or end.year != fiscal_year:
        raise InvalidInput(f"the monitoring window must lie within fiscal year {fiscal_year}",
                           field="windowStart", rule="window within the subject's fiscal year")

