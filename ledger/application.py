"""The ledger application service: one method per command (these become mutations).

The lifecycle commands live here; the registry's in ledger.registry_commands, and each
form's in its own mixin, all subclasses of ledger.handling.Handlers.
"""

from __future__ import annotations

from datetime import date

from ledger import commands as c
from ledger.domain.base import LedgerAggregate, Meta
from ledger.domain.disclosure import Disclosure
from ledger.domain.review_records import FrameworkRef
from ledger.errors import InvalidInput, RuleViolation
from ledger.evaluation_checks import (
    check_dimensions,
    check_evaluator,
    check_published_grade,
    chosen_framework,
    kind_commissioned_by,
)
from ledger.frameworks import find_framework
from ledger.goal_table_commands import GoalTableCommands
from ledger.handling import Decision, Handlers, Input
from ledger.handling import as_command as _as
from ledger.integrity.citation import DISCLOSURE, checked_citation
from ledger.monitoring import deviation_warnings, execution_rate
from ledger.monitoring_commands import MonitoringCommands, check_causes, today
from ledger.permissions import check_commissioner, units_over
from ledger.registry_commands import RegistryCommands
from ledger.results_commands import ResultsCommands
from ledger.review_commands import ReviewCommands
from ledger.runtime import SYSTEM, Actor, CommandResult, new_id
from ledger.self_evaluation_commands import SelfEvaluationCommands


class Ledger(ResultsCommands, MonitoringCommands, GoalTableCommands, RegistryCommands,
             ReviewCommands, SelfEvaluationCommands, Handlers):
    """Every lifecycle step of 预算绩效管理 as a command that records immutable events."""

    # -- ex-ante assessment (goals: ledger.goal_table_commands) --------------------------

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
            rules = self.rules_for(subject, cmd.window_end)
            check_causes(cmd.indicators, rules.monitoring.deviation_causes)
            if cmd.round_id is not None:
                self._monitoring_round(cmd.round_id).check_snapshot(
                    subject.fiscal_year, subject.kind, subject.unit_code, self.parent_of,
                    cmd.window_start, cmd.window_end)
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
                rule_version=rules.version, meta=meta, round_id=cmd.round_id,
                reported_on=cmd.effective_on or today())
            return [subject], {"snapshotId": snapshot_id}
        return self.run("record_monitoring", cmd, actor, decide)

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
            framework = None
            if cmd.framework_code is not None:
                found = find_framework(self.rules_for(subject, cmd.effective_on),
                                       cmd.framework_code, cmd.framework_version)
                framework = FrameworkRef(found.code, found.version)
            commission_id = new_id("com")
            subject.commission(commission_id, cmd.agency_code, cmd.commissioned_by, kind, meta,
                               framework)
            return [subject], {"commissionId": commission_id}
        return self.run("commission_evaluation", cmd, actor, decide)

    def record_evaluation(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.RecordEvaluation, data)

        def decide(meta: Meta) -> Decision:
            subject = self.subject(cmd.subject_code)
            kind = check_evaluator(self, actor, cmd, subject)
            rules = self.rules_for(subject, cmd.evaluated_on)
            framework = chosen_framework(
                rules, subject, cmd.framework_code, cmd.framework_version,
                subject.commissions.get(cmd.commission_id or ""))
            score = check_dimensions(framework, cmd.dimensions) if cmd.dimensions else None
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
                rule_version=rules.version, meta=meta, framework_code=framework.code,
                framework_version=framework.version)
            scored = {} if score is None else {"score": str(score)}  # none: grade only
            return [subject], {"evaluationId": evaluation_id, **scored}
        return self.run("record_evaluation", cmd, actor, decide)

    def assign_grade(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.AssignGrade, data)

        def decide(meta: Meta) -> Decision:
            subject = self.subject(cmd.subject_code)
            rules = self.rules_for(subject, cmd.effective_on)
            subject.assign_grade(cmd.grade, cmd.basis_kind, cmd.basis_id,
                                 rules.grade_scale, rules.version, meta)
            return [subject], {}
        return self.run("assign_grade", cmd, actor, decide)

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
            head = int(self.recorder.max_notification_id() or 0)
            if cmd.content_position > head:
                raise RuleViolation(
                    "CONTENT_POSITION_AHEAD", f"content position {cmd.content_position} is "
                    f"beyond the log's head {head}", field="contentPosition",
                    rule="a package is built from the log as it was: at or before its head")
            # the proof it cites: this log's, covering the package (docs/domain.md)
            cited = checked_citation(self.database, cmd.checkpoint, DISCLOSURE,
                                     cmd.content_position)
            disclosure_id = cmd.command_id
            return [Disclosure(disclosure_id=disclosure_id, fiscal_year=cmd.fiscal_year,
                               audience=cmd.audience, title=cmd.title,
                               subject_codes=list(cmd.subject_codes),
                               content_hash=cmd.content_hash,
                               content_position=cmd.content_position,
                               checkpoint=cited, meta=meta)], {
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


def check_window(start: date, end: date, fiscal_year: int) -> None:
    if start > end:
        raise InvalidInput("window_start is after window_end", field="windowEnd",
                           rule="a window starts before it ends")
    if start.year != fiscal_year or end.year != fiscal_year:
        raise InvalidInput(f"the monitoring window must lie within fiscal year {fiscal_year}",
                           field="windowStart", rule="window within the subject's fiscal year")

