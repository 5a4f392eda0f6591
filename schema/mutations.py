"""One mutation per ledger command: build the command's dict, call the Ledger, map the outcome.

No business rule lives here. The ledger validates (ledger.runtime.parse_command) and decides;
a refusal comes back as a member of the mutation's result union, so clients branch on
`__typename` rather than parse messages, and the answer is never an opaque error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Union, cast

import strawberry

from ledger.errors import DomainError, HiddenSubject
from ledger.runtime import Actor, CommandResult, camel
from projections.fiscal_year import close_fiscal_year
from projections.views import ReadModel
from projections.visibility import command_refusal
from schema.context import Information, services
from schema.errors import ERROR_TYPES, to_refusal
from schema.inputs import COMMANDS, camel_title, command_model, input_for, to_data
from schema.metrics import record_command

DESCRIPTIONS: dict[str, str] = {
    "register_unit": "Register a budget unit (预算单位).",
    "register_subject": "Register an evaluation subject (评价对象) for a fiscal year.",
    "record_ex_ante_assessment": "Record an ex-ante assessment (事前绩效评估).",
    "declare_goals": "Declare performance goals (绩效目标申报).",
    "review_goals": "Approve or return declared goals (审核/批复).",
    "adjust_goals": "Adjust approved goals, with a reason (调整).",
    "record_monitoring": "Record a monitoring snapshot (绩效运行监控).",
    "submit_self_evaluation": "Submit a version of the self-evaluation table (项目支出绩效自评表); "
                              "the ledger scores it by the rule in force and names that rule's "
                              "version.",
    "review_self_evaluation": "Accept a submitted self-evaluation, or return it with reasons "
                              "(the finance bureau's review).",
    "commission_evaluation": "Commission an agency to do the finance bureau's or a department's "
                             "evaluation (委托第三方机构评价).",
    "record_evaluation": "Record a 财政评价 (finance) or 部门评价 (department): the evaluator's "
                         "own, or an agency's under a commission.",
    "record_spot_check": "Record a spot-check re-review (抽查复核), with the reviewer's score "
                         "per indicator (复核得分) where given.",
    "draw_sampling_plan": "Draw the subjects of a spot-check review (抽查复核计划): at random "
                          "with a stated seed (随机抽取) or chosen with reasons (重点抽取).",
    "assign_grade": "Assign the grade that the authoritative score earns (评价等级).",
    "apply_result": "Apply a result to next year's budget under the consequence rule: "
                    "priority, reduce, cancel, recover… (结果运用); a contradiction needs "
                    "the finance bureau's override reason.",
    "request_rectification": "Request rectification of findings (整改).",
    "report_rectification": "Report on a requested rectification (整改反馈).",
    "review_rectification": "Accept or return a rectification report.",
    "record_disclosure": "Record what was disclosed, to whom, with its content hash (公开). "
                         "`checkpoint` cites a signed checkpoint of this log covering "
                         "contentPosition, as `ledger { checkpoint }` gives it (note "
                         "included); the ledger checks it, and requires one once a signing "
                         "key is configured.",
    "admit_agency": "Admit a third-party agency to the agency library.",
    "declare_agency_relationship": "Declare an agency's relationship with a unit (回避): it "
                                   "then evaluates nothing for or of that unit.",
    "assess_agency": "Record an agency's annual quality assessment (执业质量考核).",
    "suspend_agency": "Suspend an agency.",
    "reinstate_agency": "Reinstate a suspended agency.",
    "remove_agency": "Remove an agency from the library.",
    "admit_expert": "Admit an expert to the expert library.",
    "remove_expert": "Remove an expert from the library.",
    "adopt_rules": "Adopt a new version of the configurable rules.",
    "correct_event": "Correct a recorded fact by naming its event position and a reason.",
    "add_library_indicator": "Add an indicator to the core indicator library (核心指标库).",
    "revise_library_indicator": "Revise a library indicator, with a reason (a new revision).",
    "retire_library_indicator": "Retire a library indicator, with a reason.",
    "open_monitoring_round": "Open a monitoring round (绩效运行监控): window, scope, due date.",
    "close_monitoring_round": "Close a monitoring round: it takes no more snapshots.",
    "act_on_warning": "Record what follows a monitoring warning, citing it (调整目标 / 调整预算 / "
                      "暂缓 / 收回资金).",
    "open_fiscal_year": "Open a fiscal year's performance cycle (绩效管理年度).",
    "close_fiscal_year": "Close a fiscal year's cycle (绩效管理年度): the server signs a "
                         "checkpoint covering the log and the closing cites it, or says why "
                         "there is none (no signing key).",
    "record_budget_request": "Record a unit's budget request for the next year (预算申报).",
    "arrange_budget": "Record the amount arranged for a budget request (安排数).",
    "link_transfer": "Link a transfer allocation to the recipient's 财政运行综合绩效 (转移支付).",
}

# Commands that a projections service completes before the ledger records them (what the
# command's SERVER_FIELDS hold): the mutation calls the service, not the ledger.
SERVICES: dict[str, Callable[[ReadModel, dict[str, Any], Actor], CommandResult]] = {
    "close_fiscal_year": close_fiscal_year,
}

# The ids each command reports (CommandResult.ids key, field name, type).
ID_FIELDS: dict[str, tuple[tuple[str, str, type], ...]] = {
    "record_ex_ante_assessment": (("assessmentId", "assessment_id", str),),
    "record_monitoring": (("snapshotId", "snapshot_id", str),),
    "open_monitoring_round": (("roundId", "round_id", str),),
    "act_on_warning": (("actionId", "action_id", str),),
    "submit_self_evaluation": (("score", "score", Decimal),
                               ("selfEvaluationVersion", "self_evaluation_version", int),
                               ("ruleVersion", "rule_version", int)),
    "commission_evaluation": (("commissionId", "commission_id", str),),
    "record_evaluation": (("evaluationId", "evaluation_id", str), ("score", "score", Decimal)),
    "record_spot_check": (("spotCheckId", "spot_check_id", str),),
    "draw_sampling_plan": (("planId", "plan_id", str),),
    "apply_result": (("resultId", "result_id", str),),
    "request_rectification": (("rectificationId", "rectification_id", str),),
    "record_disclosure": (("disclosureId", "disclosure_id", str),),
    "correct_event": (("corrects", "corrects_position", int),),
}


@strawberry.type(description="An id a command created, by name.")
class NamedId:
    name: str
    value: str


@strawberry.interface(description="A command was recorded (or, with replayed, had been: the same "
                      "commandId and request were seen before and nothing new was appended).")
class CommandSuccess:
    command_id: str
    command: str
    position: int = strawberry.field(description="The log position of the command's last "
                                     "event; pass it as `position` or `minPosition` to read "
                                     "your write.")
    replayed: bool
    aggregate_id: str
    version: int
    events: list[str]
    ids: list[NamedId]


def result_type(method: str) -> type[CommandSuccess]:
    name = f"{camel_title(method)}Result"
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__annotations__": annotations, "__module__": __name__}
    for _key, attr, kind in ID_FIELDS.get(method, ()):
        annotations[attr] = kind | None
        namespace[attr] = None
    made: type[CommandSuccess] = strawberry.type(type(name, (CommandSuccess,), namespace),
                                                 name=name)
    return made


def success(kind: type[CommandSuccess], method: str, res: CommandResult) -> CommandSuccess:
    extra: dict[str, Any] = {}
    for key, attr, typ in ID_FIELDS.get(method, ()):
        raw = res.ids.get(key)
        extra[attr] = None if raw in (None, "") else typ(raw)  # "": recorded without one
    return kind(command_id=res.command_id, command=camel(res.command), position=res.position,
                replayed=res.replayed, aggregate_id=res.aggregate_id, version=res.version,
                events=list(res.events), ids=[NamedId(name=k, value=str(v))
                                              for k, v in sorted(res.ids.items())], **extra)


def make_mutation(method: str) -> Any:
    model = command_model(method)
    pascal = camel_title(method)
    input_type = input_for(model, name=f"{pascal}Input")
    kind = result_type(method)
    members = cast(Any, Union)[(kind, *ERROR_TYPES)]  # built at runtime, one per command
    payload = cast(Any, Annotated)[members, strawberry.union(f"{pascal}Payload")]

    async def resolve(info: Information, input: Any) -> Any:
        svc = services(info)
        info.context.mark(False)
        data = to_data(input)
        service = SERVICES.get(method)
        call = (getattr(svc.ledger, method) if service is None
                else functools.partial(service, svc.read_model))
        try:
            res = await svc.write(call, data, info.context.actor)
        except HiddenSubject as exc:
            record_command(method, exc.code)
            return to_refusal(await svc.run(command_refusal, svc.read_model,
                                            info.context.actor, exc))
        except DomainError as exc:
            record_command(method, exc.code)
            return to_refusal(exc)
        record_command(method, "accepted")
        return success(kind, method, res)

    resolve.__name__ = method
    resolve.__annotations__ = {"info": Information, "input": input_type, "return": payload}
    return strawberry.mutation(resolver=resolve, description=DESCRIPTIONS[method])


Mutation = strawberry.type(type("Mutation", (), {m: make_mutation(m) for m in COMMANDS}),
                           description="Every command of the ledger; each takes a commandId "
                           "for idempotent retry.")
