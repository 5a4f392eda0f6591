"""The finance bureau's spot-check review (抽查复核): drawing a sampling plan and recording a
re-review with its per-indicator re-scores (docs/domain.md, step 6)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ledger import commands as c
from ledger.domain.base import Meta
from ledger.domain.evaluation_rules import SELF
from ledger.domain.sampling import SamplingPlan
from ledger.domain.subject import Subject
from ledger.errors import RuleViolation
from ledger.handling import Decision, Handlers, Input
from ledger.handling import as_command as _as
from ledger.runtime import SYSTEM, Actor, CommandResult, new_id
from ledger.sampling import RANDOM, draw


def self_indicator_scores(subject: Subject) -> dict[str, tuple[Decimal, Decimal]]:
    """The accepted self-evaluation's 分值 and 得分 per indicator; empty when there is none,
    or when it was stored by a build without the table."""
    if subject.self_evaluation is None:
        return {}
    return {r.name: (r.points, r.score) for r in subject.self_evaluation.indicators}


def reviewed_score(subject: Subject, reviews: str) -> Decimal | None:
    """The score a re-review reviews, as it stands when the review is recorded."""
    if reviews == SELF:
        return None if subject.self_evaluation is None else subject.self_evaluation.score
    return subject.evaluations[reviews].score


class ReviewCommands(Handlers):
    def _sampling_plan(self, plan_id: str) -> SamplingPlan:
        return self._get(SamplingPlan, "sampling_plan", plan_id, "planId")

    def draw_sampling_plan(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.DrawSamplingPlan, data)

        def decide(meta: Meta) -> Decision:
            self._absent("sampling_plan", cmd.plan_id, "planId")
            reasons = {s.subject_code: s.reason for s in cmd.subjects}
            codes = (draw(cmd.population, cmd.count or 0, cmd.seed or "")
                     if cmd.method == RANDOM else list(reasons))
            for code in cmd.population:
                self._subject_of_year(code, cmd.fiscal_year, "population")
            drawn = [{"subject_code": code,
                      "unit_code": self._subject_of_year(code, cmd.fiscal_year).unit_code,
                      "reason": reasons.get(code, "")} for code in codes]
            plan = SamplingPlan(plan_id=cmd.plan_id, fiscal_year=cmd.fiscal_year,
                                title=cmd.title, method=cmd.method, seed=cmd.seed,
                                population=list(cmd.population), subjects=drawn, meta=meta)
            return [plan], {"planId": cmd.plan_id}
        return self.run("draw_sampling_plan", cmd, actor, decide)

    def _subject_of_year(self, code: str, fiscal_year: int,
                        field: str = "subjects.subjectCode") -> Subject:
        subject = self.subject(code)
        if subject.fiscal_year != fiscal_year:
            raise RuleViolation("WRONG_FISCAL_YEAR", f"subject {code} is of fiscal year "
                                f"{subject.fiscal_year}, not {fiscal_year}", field=field,
                                rule="a sampling plan draws from one fiscal year")
        return subject

    def record_spot_check(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.RecordSpotCheck, data)

        def decide(meta: Meta) -> Decision:
            subject = self.subject(cmd.subject_code)
            subject.check_reviewable(cmd.reviews)
            if cmd.plan_id is not None:
                plan = self._sampling_plan(cmd.plan_id)
                if not plan.includes(subject.code):
                    raise RuleViolation("NOT_IN_SAMPLING_PLAN", f"plan {cmd.plan_id} did not "
                                        f"draw {subject.code}", field="planId",
                                        rule="a spot check reviews a subject its plan drew")
            spot_check_id = new_id("spc")
            subject.record_spot_check(
                spot_check_id=spot_check_id, reviews=cmd.reviews, score=cmd.score,
                findings=list(cmd.findings), meta=meta, plan_id=cmd.plan_id,
                reviewed_score=reviewed_score(subject, cmd.reviews),
                indicators=indicator_reviews(subject, cmd.indicators))
            return [subject], {"spotCheckId": spot_check_id}
        return self.run("record_spot_check", cmd, actor, decide)


def indicator_reviews(subject: Subject,
                      rescores: list[c.IndicatorReScore]) -> list[dict[str, Any]]:
    """Each re-score with the 得分 it reviews; refuses an indicator not in the goals, or a
    score above the indicator's 分值."""
    known = subject.indicator_names()
    scored = self_indicator_scores(subject)
    out: list[dict[str, Any]] = []
    for r in rescores:
        if r.name not in known:
            raise RuleViolation("UNKNOWN_INDICATOR", f"{r.name} is not an indicator of "
                                f"{subject.code}'s goals", field="indicators.name",
                                rule="a re-score reviews an indicator of the approved goals")
        points, score = scored.get(r.name, (None, None))
        if points is not None and r.score > points:
            raise RuleViolation("SCORE_ABOVE_POINTS", f"{r.name}: {r.score} exceeds its "
                                f"分值 {points}", field="indicators.score",
                                rule="an indicator scores within its points")
        out.append({"name": r.name, "score": r.score, "reviewed_score": score,
                    "remarks": r.remarks})
    return out
