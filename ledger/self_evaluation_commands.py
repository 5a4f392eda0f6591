"""The self-evaluation table's commands (项目支出绩效自评表): a unit submits, the bureau reviews."""

from __future__ import annotations

from ledger import commands as c
from ledger.domain.base import Meta
from ledger.handling import Decision, Handlers, Input
from ledger.handling import as_command as _as
from ledger.runtime import SYSTEM, Actor, CommandResult
from ledger.scoring import budget_table, score_table


class SelfEvaluationCommands(Handlers):
    def submit_self_evaluation(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.SubmitSelfEvaluation, data)

        def decide(meta: Meta) -> Decision:
            subject = self.subject(cmd.subject_code)
            subject.check_goals_approved("self-evaluation")
            subject.check_can_submit_self_evaluation()
            rules = self.rules_for(subject, cmd.effective_on)
            budget = budget_table([line.model_dump() for line in cmd.budget_lines],
                                  cmd.budget_amount, cmd.executed_amount)
            results = [r.model_dump() for r in cmd.indicator_results]
            score, parts, table = score_table(subject.indicators, results, budget,
                                              rules.self_evaluation)
            subject.submit_self_evaluation(score=score, parts=parts, indicator_results=results,
                                           rule_version=rules.version, meta=meta, table=table)
            version = subject.self_evaluations[-1].version
            return [subject], {"score": str(score), "selfEvaluationVersion": str(version),
                               "ruleVersion": str(rules.version)}
        return self.run("submit_self_evaluation", cmd, actor, decide)

    def review_self_evaluation(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.ReviewSelfEvaluation, data)

        def decide(meta: Meta) -> Decision:
            subject = self.subject(cmd.subject_code)
            subject.review_self_evaluation(cmd.version, cmd.decision == "accept",
                                           list(cmd.reasons), cmd.comments, meta)
            return [subject], {}
        return self.run("review_self_evaluation", cmd, actor, decide)
