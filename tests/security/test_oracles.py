"""Existence oracles and small leaks (issue item 9), attacked through the real HTTP app.

A caller must not learn from an answer what it may not read: that another unit's undisclosed
subject exists, what another actor did under a command id, which fiscal years hold hidden
rows, where the server keeps its files, or which person holds a token.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx2 as httpx
import pytest

from ledger.sample.loader import AGENCY
from tests.e2e.conftest import bearer, issue_token
from tests.security.conftest import Served, assert_public_annex_intact

HIDDEN = "XS-2022-HIDE-01"  # registered below for XS-U04, never disclosed
UNKNOWN = "XS-2022-NONE-01"  # never registered; the same length, so messages compare
REFUSAL = ("__typename ... on Refusal { code field rule message } ... on NotFound { key } "
           "... on CommandSuccess { commandId command replayed aggregateId ids { name value } }")
INDICATORS = [{"level1": "产出", "level2": "数量", "name": "覆盖人数", "comparator": ">=",
               "target": "1000", "unit": "人", "weight": "100"}]
DIMENSIONS = [{"name": "决策", "weight": "20", "score": "18"},
              {"name": "过程", "weight": "20", "score": "18"},
              {"name": "产出", "weight": "30", "score": "28"},
              {"name": "效益", "weight": "30", "score": "28"}]
# Every command a budget unit (or, last, an agency) may issue that names a subject.
SUBJECT_COMMANDS: list[tuple[str, str, dict[str, Any]]] = [
    ("unit", "recordExAnteAssessment", {"conclusion": "予以支持",
                                        "dimensions": {"立项必要性": "必要"}}),
    ("unit", "declareGoals", {"indicators": INDICATORS}),
    ("unit", "adjustGoals", {"indicators": INDICATORS, "reason": "调整"}),
    ("unit", "recordMonitoring", {"roundName": "r", "windowStart": "2022-01-01",
                                  "windowEnd": "2022-07-31", "budgetAmount": "1.00",
                                  "executedAmount": "0.50"}),
    ("unit", "submitSelfEvaluation", {"budgetAmount": "1.00", "executedAmount": "1.00",
                                      "indicatorResults": [{"name": "覆盖人数",
                                                            "actual": "1000"}]}),
    ("unit", "commissionEvaluation", {"agencyCode": AGENCY[0], "commissionedBy": "XS-U03"}),
    ("unit", "recordEvaluation", {"kind": "DEPARTMENT", "dimensions": DIMENSIONS,
                                  "narrative": "x", "evaluatedOn": "2023-01-01"}),
    ("unit", "reportRectification", {"rectificationId": "rec-000000000000", "report": "done"}),
    ("agency", "recordEvaluation", {"kind": "THIRD_PARTY", "agencyCode": AGENCY[0],
                                    "commissionId": "com-000000000000",
                                    "dimensions": DIMENSIONS, "narrative": "x",
                                    "evaluatedOn": "2023-01-01"}),
]


def mutate(served: Served, name: str, fields: dict[str, Any],
           headers: dict[str, str]) -> dict[str, Any]:
    """One mutation over HTTP; its payload (a success or a refusal)."""
    pascal = name[0].upper() + name[1:]
    query = f"mutation($input: {pascal}Input!) {{ {name}(input: $input) {{ {REFUSAL} }} }}"
    body = served.graphql(query, {"input": {"commandId": f"o-{uuid.uuid4().hex}", **fields}},
                          headers).json()
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"][name]
    return payload


def head(served: Served) -> int:
    return int(served.ledger.recorder.max_notification_id() or 0)


def register_hidden_subject(served: Served) -> None:
    """Another unit's subject, as the bureau registers it before anything is disclosed."""
    done = mutate(served, "registerSubject", {
        "code": HIDDEN, "name": "未公开项目", "kind": "PROJECT", "fiscalYear": 2022,
        "unitCode": "XS-U04", "funds": "12.00"}, served.bureau)
    assert done["__typename"] == "RegisterSubjectResult", done
    approved = mutate(served, "declareGoals", {"subjectCode": HIDDEN, "indicators": INDICATORS},
                      served.bureau)
    assert approved["__typename"] == "DeclareGoalsResult", approved


def test_another_units_undisclosed_subject_is_refused_like_an_unknown_one(
        served: Served) -> None:
    register_hidden_subject(served)
    callers = {"unit": bearer(issue_token(served.db, "budget_unit", unit="XS-U03")),
               "agency": bearer(issue_token(served.db, "agency", agency=AGENCY[0]))}
    before = head(served)
    for who, name, fields in SUBJECT_COMMANDS:
        hidden = mutate(served, name, {"subjectCode": HIDDEN, **fields}, callers[who])
        unknown = mutate(served, name, {"subjectCode": UNKNOWN, **fields}, callers[who])
        assert unknown["code"] == "SUBJECT_NOT_FOUND", (who, name, unknown)
        assert {k: str(v).replace(HIDDEN, "?") for k, v in hidden.items()} == \
            {k: str(v).replace(UNKNOWN, "?") for k, v in unknown.items()}, (who, name)
    assert head(served) == before  # nothing was appended
    # A subject the unit can read anyway (disclosed) is no secret: the refusal says why.
    disclosed = mutate(served, "declareGoals", {"subjectCode": "XS-2022-KP-01",
                                                "indicators": INDICATORS}, callers["unit"])
    assert (disclosed["__typename"], disclosed["code"]) == ("Forbidden", "OUT_OF_SCOPE")
    assert_public_annex_intact(served.url)


def test_a_command_id_is_its_actors_own(served: Served) -> None:
    """Another actor's command id neither replays their result nor names their command."""
    mine = bearer(issue_token(served.db, "budget_unit", unit="XS-U03"))
    theirs = bearer(issue_token(served.db, "budget_unit", unit="XS-U04"))
    command_id = f"shared-{uuid.uuid4().hex}"

    def register(code: str, unit: str, headers: dict[str, str]) -> dict[str, Any]:
        query = f"""mutation($input: RegisterSubjectInput!) {{
            registerSubject(input: $input) {{ {REFUSAL} }} }}"""
        body = served.graphql(query, {"input": {
            "commandId": command_id, "code": code, "name": "项目", "kind": "PROJECT",
            "fiscalYear": 2022, "unitCode": unit, "funds": "1.00"}}, headers).json()
        found: dict[str, Any] = body["data"]["registerSubject"]
        return found

    first = register("XS-2022-OWN-03", "XS-U03", mine)
    assert first["__typename"] == "RegisterSubjectResult" and not first["replayed"]
    # The same id and the very same request from another unit: not the first unit's result.
    copied = register("XS-2022-OWN-03", "XS-U03", theirs)
    assert copied.get("aggregateId") != first["aggregateId"], copied
    assert not copied.get("replayed") and "register" not in copied.get("message", "")
    # The same id for a request of its own: recorded, as if the id were fresh.
    own = register("XS-2022-OWN-04", "XS-U04", theirs)
    assert own["__typename"] == "RegisterSubjectResult" and not own["replayed"], own
    # Each actor's retry still returns its own first result.
    assert register("XS-2022-OWN-03", "XS-U03", mine) == {**first, "replayed": True}
    assert register("XS-2022-OWN-04", "XS-U04", theirs) == {**own, "replayed": True}
    assert_public_annex_intact(served.url)


def register_hidden_key_project(served: Served, code: str, fiscal_year: int) -> None:
    """An evaluated key project of XS-U04, so that it is a row of 附件1, never disclosed."""
    done = mutate(served, "registerSubject", {
        "code": code, "name": "未公开重点项目", "kind": "PROJECT", "fiscalYear": fiscal_year,
        "unitCode": "XS-U04", "funds": "99.00", "isKey": True}, served.bureau)
    assert done["__typename"] == "RegisterSubjectResult", done
    evaluated = mutate(served, "recordEvaluation", {
        "subjectCode": code, "kind": "FINANCE", "dimensions": DIMENSIONS,
        "narrative": "未公开", "evaluatedOn": f"{fiscal_year + 1}-01-15"}, served.bureau)
    assert evaluated["__typename"] == "RecordEvaluationResult", evaluated


def download(served: Served, path: str, headers: dict[str, str] | None = None) -> bytes:
    response = httpx.get(f"{served.url}{path}", headers=headers or {}, timeout=60)
    assert response.status_code == 200, (path, response.status_code, response.text)
    return response.content


def test_downloads_leave_no_trace_of_hidden_rows(served: Served) -> None:
    unit = bearer(issue_token(served.db, "budget_unit", unit="XS-U03"))
    callers: list[dict[str, str]] = [{}, unit]
    tables = ("key-projects", "coverage")
    before = {(t, i): download(served, f"/exports/2022/{t}.csv", who)
              for t in tables for i, who in enumerate(callers)}
    empty_year = download(served, "/exports/2039/coverage.csv")
    register_hidden_key_project(served, "XS-2022-HIDE-KP", 2022)
    register_hidden_key_project(served, "XS-2023-HIDE-KP", 2023)
    for (table, i), was in before.items():  # the same bytes: no row, no count, no refusal
        assert download(served, f"/exports/2022/{table}.csv", callers[i]) == was, (table, i)
    for who in callers:  # a year holding only hidden rows answers as an empty one
        assert download(served, "/exports/2023/coverage.csv", who) == empty_year
        assert download(served, "/exports/2023/key-projects.csv", who) == \
            download(served, "/exports/2039/key-projects.csv", who)
    assert b"\xe6\x9c\xaa\xe5\x85\xac\xe5\xbc\x80" in download(  # 未公开: the bureau reads it
        served, "/exports/2022/key-projects.csv", served.bureau)
    assert_public_annex_intact(served.url)


def test_the_portal_offers_only_years_the_caller_can_read(served: Served) -> None:
    def years(headers: dict[str, str] | None = None) -> list[int]:
        found: list[int] = httpx.get(f"{served.url}/portal/info.json", headers=headers or {},
                                     timeout=30).json()["fiscalYears"]
        return found

    assert years() == [2022]
    register_hidden_key_project(served, "XS-2023-HIDE-KP", 2023)
    assert years() == [2022]  # 2023 holds only a subject the public may not read
    # 民政局 (XS-U03) reads its own 2021 subjects (the sample's year before); 教育局 has none
    assert years(bearer(issue_token(served.db, "budget_unit", unit="XS-U03"))) == [2022, 2021]
    assert years(bearer(issue_token(served.db, "budget_unit", unit="XS-U04"))) == [2023, 2022]
    assert years(served.bureau) == [2023, 2022, 2021]
    assert_public_annex_intact(served.url)


def test_public_answers_name_no_server_path(served: Served,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    secret_dir = "/srv/jixiao-secret-dir-7f3a"
    monkeypatch.setenv("JIXIAO_KEY_FILE", f"{secret_dir}/signing.key")
    monkeypatch.setenv("JIXIAO_CJK_FONT", f"{secret_dir}/font.ttf")
    info = httpx.get(f"{served.url}/portal/info.json", timeout=30)
    key = httpx.get(f"{served.url}/portal/public.key", timeout=30)
    pdf = httpx.get(f"{served.url}/exports/2022/key-projects.pdf", timeout=60)
    assert (info.status_code, key.status_code, pdf.status_code) == (200, 404, 503)
    assert info.json()["publicKey"] is None and info.json()["keyProblem"]
    for answer in (info, key, pdf):
        for part in ("jixiao-secret-dir", "signing.key", "font.ttf"):
            assert part not in answer.text, answer.text
    assert_public_annex_intact(served.url)


TRAIL = """query($code: String!) { ledger { auditTrail(subjectCode: $code, first: 200) {
    edges { node { position type actorId actorRole } } } } }"""
RESTATED = """query($since: Int!) { ledger { restatements(fiscalYear: 2022, table: KEY_PROJECTS,
    sincePosition: $since) { corrections { actorId actorRole } } } }"""


def test_public_audit_trails_show_role_and_unit_not_people(served: Served) -> None:
    body = served.graphql("""{ ledger { subjects(fiscalYear: 2022, first: 200) {
        edges { node { code unitCode isKey } } } } }""", headers=served.bureau).json()
    nodes = [e["node"] for e in body["data"]["ledger"]["subjects"]["edges"]]
    own = next(n["code"] for n in nodes if n["unitCode"] == "XS-U03")
    key = next(n["code"] for n in nodes if n["isKey"])
    unit = bearer(issue_token(served.db, "budget_unit", unit="XS-U03"))
    acted = mutate(served, "recordExAnteAssessment", {
        "subjectCode": own, "conclusion": "予以支持", "dimensions": {"立项必要性": "必要"}}, unit)
    assert acted["__typename"] == "RecordExAnteAssessmentResult", acted
    since = head(served)
    trail = served.graphql(TRAIL, {"code": key}, served.bureau).json()
    registered = next(e["node"]["position"] for e in trail["data"]["ledger"]["auditTrail"]
                      ["edges"] if e["node"]["type"] == "Subject.Registered")
    corrected = mutate(served, "correctEvent", {"position": registered,
                                                "values": {"name": "更正后的名称"},
                                                "reason": "名称有误"}, served.bureau)
    assert corrected["__typename"] == "CorrectEventResult", corrected

    def actors(headers: dict[str, str]) -> set[str]:
        found = set()
        for code in (own, key):
            body = served.graphql(TRAIL, {"code": code}, headers).json()
            found |= {e["node"]["actorId"] for e in body["data"]["ledger"]["auditTrail"]["edges"]}
        body = served.graphql(RESTATED, {"since": since}, headers).json()
        found |= {c["actorId"] for r in body["data"]["ledger"]["restatements"]
                  for c in r["corrections"]}
        return found

    for reader in ({}, bearer(issue_token(served.db, "congress")), unit):
        shown = actors(reader)
        assert {"budget_unit@XS-U03", "finance_bureau"} <= shown, shown
        assert not any("token" in a or "test " in a for a in shown), shown
    for full in (served.bureau, bearer(issue_token(served.db, "auditor"))):
        assert any(a.startswith("token:") and a.endswith(":test budget_unit")
                   for a in actors(full))
    assert_public_annex_intact(served.url)
