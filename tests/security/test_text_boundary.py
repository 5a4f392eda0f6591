"""Text and numbers at the boundary: what cannot be stored, shown or read back unambiguously
is refused with a typed error naming the field and the rule, and nothing is appended.

The attack (issue item 1): a NUL in any text field (a unit's name, an agency's narrative) was
accepted and appended, and PostgreSQL's views then failed on it forever; escape sequences
reached operators' terminals; "١٢٣" became 123.00. The rule is defined once (ledger/text.py)
and every text field of every command carries it, nested ones included.
"""

from __future__ import annotations

import json
import types
import typing
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from pydantic import BaseModel

from ledger import commands as c
from ledger.errors import InvalidInput
from ledger.importing.importer import TableImportError, import_table
from ledger.sample.loader import AGENCY, BUREAU
from ledger.text import check_name, check_nested, check_text
from ledger.tokens import TokenStore
from tests.e2e.conftest import bearer, issue_token
from tests.security.conftest import Served, assert_public_annex_intact

SUBJECT = "XS-2022-KP-01"
RESULT = ("... on ValidationError { problems { field rule message } } "
          "... on Refusal { code field rule message }")
# One of each kind the rule refuses everywhere: NUL, an ANSI escape (C0), CSI as a C1
# control, DEL, and a lone surrogate (only JSON's \ud800 escape can carry one in).
EVERYWHERE = {"NUL": "\u0000", "ESC": "\u001b[2J", "CSI": "\u009b31m", "DEL": "\u007f",
              "surrogate": "\ud800"}
# Refused in names and identifiers only: text may need them, a name must read as it is.
IN_NAMES = {"RLO": "\u202e", "isolate": "\u2066"}


def mutate(served: Served, name: str, data: dict[str, Any],
           headers: dict[str, str]) -> dict[str, Any]:
    """One mutation over the real socket; the JSON body is written with \\u escapes, so a
    lone surrogate travels as a client would send it."""
    pascal = name[0].upper() + name[1:]
    query = (f"mutation($input: {pascal}Input!) {{ {name}(input: $input) {{ __typename "
             f"... on CommandSuccess {{ position ids {{ name value }} }} {RESULT} }} }}")
    response = httpx.post(f"{served.url}/graphql", headers={
        **headers, "Content-Type": "application/json"}, timeout=30,
        content=json.dumps({"query": query, "variables": {"input": data}}))
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"][name]
    return payload


def head(served: Served) -> int:
    return int(served.ledger.recorder.max_notification_id() or 0)


def cases(bad: str, commission: str) -> list[tuple[str, dict[str, Any], str]]:
    """(mutation, input, the field the refusal must name): every kind of text field."""
    cid = f"attack-{abs(hash(bad))}-x"
    return [
        ("registerUnit", {"commandId": cid, "code": "XS-U99", "name": f"民政{bad}局"}, "name"),
        ("registerSubject", {"commandId": cid, "code": "XS-2022-KP-99", "name": f"a{bad}",
                             "kind": "PROJECT", "fiscalYear": 2022, "unitCode": "XS-U03",
                             "funds": "1.00"}, "name"),
        ("registerSubject", {"commandId": f"{cid}{bad}", "code": "XS-2022-KP-99", "name": "a",
                             "kind": "PROJECT", "fiscalYear": 2022, "unitCode": "XS-U03",
                             "funds": "1.00"}, "commandId"),
        ("admitAgency", {"commandId": cid, "code": "AG-99", "name": "事务所",
                         "qualification": f"资质{bad}"}, "qualification"),
        ("assessAgency", {"commandId": cid, "code": AGENCY[0], "year": 2022, "score": "90",
                          "rating": "优秀", "remarks": f"ok{bad}"}, "remarks"),
        ("suspendAgency", {"commandId": cid, "code": AGENCY[0], "reason": f"r{bad}"}, "reason"),
        ("admitExpert", {"commandId": cid, "code": "EX-99", "name": "张三",
                         "fields": ["财政", f"教育{bad}"]}, "fields.1"),
        ("declareGoals", {"commandId": cid, "subjectCode": SUBJECT, "indicators": [{
            "level1": "产出", "level2": "数量", "name": f"床位{bad}", "comparator": ">=",
            "target": "10", "weight": "100"}]}, "indicators.0.name"),
        ("reviewGoals", {"commandId": cid, "subjectCode": SUBJECT, "decision": "RETURN",
                         "comments": f"退回{bad}"}, "comments"),
        ("recordEvaluation", {"commandId": cid, "subjectCode": SUBJECT, "kind": "THIRD_PARTY",
                              "commissionId": commission, "agencyCode": AGENCY[0],
                              "publishedGrade": "GOOD", "narrative": f"评价{bad}结论",
                              "evaluatedOn": "2023-03-15"}, "narrative"),
        ("recordSpotCheck", {"commandId": cid, "subjectCode": SUBJECT, "reviews": "self",
                             "score": "80", "findings": [f"f{bad}"]}, "findings.0"),
        ("applyResult", {"commandId": cid, "subjectCode": SUBJECT, "kind": "CONTINUE",
                         "citesKind": "GRADE", "remarks": f"r{bad}"}, "remarks"),
        ("requestRectification", {"commandId": cid, "subjectCode": SUBJECT,
                                  "items": [f"整改{bad}"], "deadline": "2023-12-31"},
         "items.0"),
        ("recordDisclosure", {"commandId": cid, "fiscalYear": 2022, "audience": "PUBLIC",
                              "title": "公开", "subjectCodes": [SUBJECT],
                              "contentHash": "0" * 64, "contentPosition": 1,
                              "checkpoint": {"origin": "jixiao.local/ledger", "size": 1,
                                             "root": "A" * 43 + "=", "lastPosition": 1,
                                             "note": f"n{bad}\n"}}, "checkpoint.note"),
        ("adoptRules", {"commandId": cid, "rules": {"evaluation": {
            "project": ["决策", "过程", f"产出{bad}", "效益"]}}}, "rules"),
        ("correctEvent", {"commandId": cid, "position": 1, "values": {"name": f"局{bad}"},
                          "reason": "更正"}, "values"),
    ]


def name_cases(bad: str) -> list[tuple[str, dict[str, Any], str]]:
    cid = f"attack-{abs(hash(bad))}-n"
    return [
        ("registerUnit", {"commandId": cid, "code": "XS-U99", "name": f"民政{bad}局"}, "name"),
        ("recordDisclosure", {"commandId": cid, "fiscalYear": 2022, "audience": "PUBLIC",
                              "title": f"公开{bad}", "subjectCodes": [SUBJECT],
                              "contentHash": "0" * 64, "contentPosition": 1}, "title"),
        ("correctEvent", {"commandId": cid, "position": 1, "values": {"name": f"局{bad}"},
                          "reason": "更正"}, "values.name"),
    ]


def refused(payload: dict[str, Any], field: str, rule: str) -> bool:
    problems = payload.get("problems") or [payload]
    return payload["__typename"] == "ValidationError" and any(
        p["field"] == field and p["rule"] == rule and "U+" in p["message"] for p in problems)


def test_control_characters_and_lone_surrogates_are_refused_in_every_text_field(
        served: Served) -> None:
    commission = mutate(served, "commissionEvaluation", {
        "commandId": "attack-commission", "subjectCode": SUBJECT, "agencyCode": AGENCY[0],
        "commissionedBy": BUREAU[0]}, served.bureau)
    commission_id = next(i["value"] for i in commission["ids"] if i["name"] == "commissionId")
    agency = bearer(issue_token(served.db, "agency", agency=AGENCY[0]))
    before = head(served)
    wrong = []
    for label, bad in EVERYWHERE.items():
        for name, data, field in cases(bad, commission_id):
            who = agency if name == "recordEvaluation" else served.bureau
            payload = mutate(served, name, data, who)
            rule = "name_characters" if field in ("name", "commandId", "fields.1",
                                                  "indicators.0.name") else "text_characters"
            if not refused(payload, field, rule):
                wrong.append((label, name, field, payload))
    assert wrong == []
    assert head(served) == before, "a refused command appended something"
    assert_public_annex_intact(served.url)


def test_bidi_overrides_and_isolates_are_refused_in_names(served: Served) -> None:
    before = head(served)
    wrong = []
    for label, bad in IN_NAMES.items():
        for name, data, field in name_cases(bad):
            payload = mutate(served, name, data, served.bureau)
            if not refused(payload, field, "name_characters"):
                wrong.append((label, name, field, payload))
    assert wrong == []
    assert head(served) == before
    assert_public_annex_intact(served.url)


@pytest.mark.parametrize("digits", ["١٢٣", "１２３", "१२३", "1_000"])
def test_numbers_are_read_in_ascii_digits_only(served: Served, digits: str) -> None:
    """Arabic-Indic, full-width and Devanagari digits (and Decimal's underscores) were read
    as numbers: "١٢٣" became 123.00 万元. Money, scores and numeric targets refuse them."""
    before = head(served)
    attempts = [
        ("registerSubject", {"commandId": "attack-digits-1", "code": "XS-2022-KP-98",
                             "name": "数字", "kind": "PROJECT", "fiscalYear": 2022,
                             "unitCode": "XS-U03", "funds": digits}),
        ("assessAgency", {"commandId": "attack-digits-2", "code": AGENCY[0], "year": 2022,
                          "score": digits, "rating": "优秀"}),
        ("declareGoals", {"commandId": "attack-digits-3", "subjectCode": SUBJECT,
                          "indicators": [{"level1": "产出", "level2": "数量", "name": "床位",
                                          "comparator": ">=", "target": digits,
                                          "weight": "100"}]}),
    ]
    for name, data in attempts:
        pascal = name[0].upper() + name[1:]
        query = (f"mutation($input: {pascal}Input!) {{ {name}(input: $input) {{ __typename "
                 f"{RESULT} }} }}")
        body = served.graphql(query, {"input": data}, served.bureau).json()
        if "errors" in body:  # the Decimal scalar refuses before the ledger sees it
            message = json.dumps(body["errors"], ensure_ascii=False)
            assert "Decimal cannot represent" in message, (name, body)
            continue
        payload = body["data"][name]
        assert payload["__typename"] == "ValidationError", (name, payload)
    assert head(served) == before
    assert_public_annex_intact(served.url)


def test_corrections_hold_restated_text_to_the_same_rule(served: Served) -> None:
    """correctEvent's values are parsed by the corrected event's own parsers (parse_text,
    parse_name, parse_score): they apply the rule too, and name the restated field."""
    registered = next(r.position for r in _log(served) if r.type == "Subject.Registered")
    evaluated = next(r.position for r in _log(served) if r.type == "Subject.EvaluationRecorded")
    before = head(served)
    for position, values, field, rule in [
            (registered, {"name": "项目\u202e名"}, "values.name", "name_characters"),
            (evaluated, {"narrative": "评价\u001b[0m"}, "values", "text_characters"),
            (evaluated, {"score": "٩٠"}, "values.score", "ascii_decimal")]:
        payload = mutate(served, "correctEvent", {
            "commandId": f"attack-correct-{position}-{field}", "position": position,
            "values": values, "reason": "更正"}, served.bureau)
        problems = payload.get("problems") or []
        assert payload["__typename"] == "ValidationError" and any(
            p["field"] == field and p["rule"] == rule for p in problems), (values, payload)
    assert head(served) == before
    assert_public_annex_intact(served.url)


def _log(served: Served) -> list[Any]:
    from ledger.log import read_log

    return list(read_log(served.ledger, start=1))


def test_token_names_follow_the_name_rule(served: Served) -> None:
    """A token's name goes into the actor id of every event it records."""
    store = TokenStore(served.db)
    try:
        for bad in (*EVERYWHERE.values(), *IN_NAMES.values()):
            with pytest.raises(InvalidInput) as refusal:
                store.create("finance_bureau", f"绩效科{bad}")
            assert refusal.value.field == "name" and refusal.value.rule == "name_characters"
        assert not [t for t in store.list() if t.name.startswith("绩效科")]
    finally:
        store.close()
    assert_public_annex_intact(served.url)


def test_an_imported_table_names_the_row_and_column_of_a_bad_cell(
        served: Served, tmp_path: Path) -> None:
    """import-table cells are commands' fields: a control character in the unit column, or
    Arabic-Indic digits in the amount column, refuse the whole table, naming the cell."""
    header = "序号,项目名称,主管部门,财政资金（万元）,评价等级\n"
    for row, column in [("1,养老服务,民政\u0007局,10.00,优\n", "主管部门"),
                        ("1,养老\u0000服务,民政局,10.00,优\n", "项目名称"),
                        ("1,养老服务,民政局,١٠.٠٠,优\n", "财政资金")]:
        path = tmp_path / "table.csv"
        path.write_text(header + row, encoding="utf-8")
        before = head(served)
        with pytest.raises(TableImportError) as refusal:
            import_table(served.ledger, path, fiscal_year=2022, table="key-projects")
        problems = refusal.value.problems
        assert any(p.row == 2 and column in (p.column or "") for p in problems), problems
        assert head(served) == before
    assert_public_annex_intact(served.url)


def test_every_text_field_of_every_command_carries_the_rule() -> None:
    """No bare str anywhere in a command, nested models, lists and dicts included: a field
    added later without the rule fails here."""
    bare = [f"{command.__name__}.{where}" for command in _commands()
            for where in _bare_fields(command)]
    assert bare == []


RULES = {check_text, check_name, check_nested}


def _bare_fields(model: type[BaseModel]) -> list[str]:
    return [f"{name}{inner}" for name, info in model.model_fields.items()
            for inner in _bare(info.rebuild_annotation(), checked=False)]


def _bare(annotation: Any, *, checked: bool) -> list[str]:
    """Where, under `annotation`, text can arrive without passing the rule."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, *metadata = typing.get_args(annotation)
        ruled = any(getattr(m, "func", None) in RULES for m in metadata)
        return _bare(inner, checked=checked or ruled)
    if origin is typing.Literal:
        return []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [f".{where}" for where in _bare_fields(annotation)]
    if origin is not None or isinstance(annotation, types.UnionType):
        return [where for arg in typing.get_args(annotation)
                for where in _bare(arg, checked=checked)]
    if annotation in (str, Any) and not checked:
        return [""]
    return []


def _commands() -> list[type[c.Command]]:
    return [v for v in vars(c).values()
            if isinstance(v, type) and issubclass(v, c.Command) and v is not c.Command]


def test_query_arguments_refuse_text_no_code_can_hold(served: Served) -> None:
    """A NUL in a query's code argument went into SQL, where PostgreSQL refused it: the
    answer was "Unexpected error.". Literal or variable, it is now refused, naming it."""
    for query, variables, argument in [
            ('{ ledger { subject(code: "XS\\u0000") { name } } }', None, "code"),
            ("query($code: String!) { ledger { subject(code: $code) { name } } }",
             {"code": "XS\u0000"}, "$code"),
            ('{ ledger { auditTrail(unitCode: "XS-U03\\u001b[2J") { edges { cursor } } } }',
             None, "unitCode")]:
        body = served.graphql(query, variables, served.bureau).json()
        assert body.get("data") is None, body
        error = body["errors"][0]
        assert error["message"].startswith(f"argument {argument}: U+"), error
        assert error["extensions"]["reason"] == "text_characters", error
    assert_public_annex_intact(served.url)
