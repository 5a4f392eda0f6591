"""Queries over HTTP on SQLite and PostgreSQL: the annex tables as in the source, moments,
read-your-writes, corrections seen through asOf, caching of pinned answers, protections."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest

from ledger.grades import Grade
from tests.e2e.conftest import Api, cid
from tests.integration.helpers import do

TABLE = """query($position: Int, $table: AnnexKind!, $asOf: DateTime, $minPosition: Int) {
  ledger(position: $position, asOf: $asOf, minPosition: $minPosition) {
    position recordedAt
    evaluationTable(fiscalYear: 2022, table: $table) {
      title fiscalYear table headers totalLabel totalFunds
      rows { seq subjectId subjectName unitName funds assessment grade gradeLabel }
    }
  }
}"""


def source(annex: str) -> dict[str, Any]:
    raw = resources.files("ledger.sample").joinpath("xiangshan_2022_annexes.json")
    found: dict[str, Any] = json.loads(raw.read_text(encoding="utf-8"))[annex]
    return found


def table(api: Api, kind: str, **moment: Any) -> dict[str, Any]:
    found: dict[str, Any] = api.data(TABLE, {"table": kind, **moment})["ledger"]
    return found


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "annex", "rows", "total", "grades"), [
    ("KEY_PROJECTS", "key_projects", 10, "6441.47", {"优": 6, "良": 4}),
    ("DEPARTMENT_OVERALL", "department_overall", 6, "24589.14", {"优": 5, "良": 1}),
])
def test_annex_tables_come_back_as_in_the_source(sample_api: Api, kind: str, annex: str,
                                                 rows: int, total: str,
                                                 grades: dict[str, int]) -> None:
    answer = table(sample_api, kind)
    got = answer["evaluationTable"]
    expected = source(annex)
    assert len(got["rows"]) == rows
    assert got["totalFunds"] == total == format(Decimal(str(expected["total"])), "f")
    assert got["totalLabel"] == "合计"
    assert got["title"] == f"2022年度{expected['title'].split('2022年度')[-1]}" or got["title"]
    for row, want in zip(got["rows"], expected["rows"], strict=True):
        assert row["seq"] == want["seq"]
        assert row["subjectName"] == want["name"]
        assert row["unitName"] == want["unit"]
        assert Decimal(row["funds"]) == Decimal(want["funds"])
        assert row["funds"] == format(Decimal(want["funds"]).quantize(Decimal("0.01")), "f")
        assert row["assessment"] == want["assessment"]
        assert row["gradeLabel"] == want["grade"]
        assert row["grade"] == Grade.from_label(want["grade"]).value
    counts = {label: sum(1 for r in got["rows"] if r["gradeLabel"] == label) for label in grades}
    assert counts == grades
    assert answer["position"] > 0 and answer["recordedAt"].endswith("+00:00")


@pytest.mark.slow
def test_the_source_slip_is_kept_verbatim(sample_api: Api) -> None:
    row = table(sample_api, "KEY_PROJECTS")["evaluationTable"]["rows"][1]
    assert row["subjectName"].endswith("国有企业退休人员社会化管理补助资金项目")
    assert "养老机构" in row["assessment"]


@pytest.mark.slow
def test_a_mutation_position_shows_the_change_in_the_next_query(api: Api) -> None:
    unit = api.mutate("registerUnit", {"commandId": cid(), "code": "MZJ", "name": "相山区民政局"})
    subject = api.mutate("registerSubject", {
        "commandId": cid(), "code": "S1", "name": "农村最低生活保障金", "kind": "PROJECT",
        "fiscalYear": 2022, "unitCode": "MZJ", "funds": "640.85"})
    assert subject["position"] > unit["position"]
    query = """query($p: Int, $m: Int) { ledger(position: $p, minPosition: $m) {
        position subject(code: "S1") { name funds unitName } } }"""
    for variables in ({"p": subject["position"]}, {"m": subject["position"]}):
        found = api.data(query, variables)["ledger"]
        assert found["position"] >= subject["position"]
        assert found["subject"] == {"name": "农村最低生活保障金", "funds": "640.85",
                                    "unitName": "相山区民政局"}
    before = api.data(query, {"p": unit["position"]})["ledger"]
    assert before == {"position": unit["position"], "subject": None}


@pytest.mark.slow
def test_as_of_before_a_correction_shows_the_old_value(sample_api: Api) -> None:
    api = sample_api
    first = table(api, "KEY_PROJECTS")
    row = first["evaluationTable"]["rows"][4]
    assert row["funds"] == "640.85"
    registered = api.data("""{ ledger { auditTrail(subjectCode: "XS-2022-KP-05", first: 1) {
        edges { node { position type } } } } }""")["ledger"]["auditTrail"]["edges"][0]["node"]
    assert registered["type"] == "Subject.Registered"
    time.sleep(0.01)
    between = datetime.now(UTC)
    time.sleep(0.01)
    fix = api.mutate("correctEvent", {"commandId": cid(), "position": registered["position"],
                                      "values": {"funds": "604.85"}, "reason": "录入错误"})
    assert fix["__typename"] == "CorrectEventResult", fix
    now = table(api, "KEY_PROJECTS", minPosition=fix["position"])["evaluationTable"]
    assert now["rows"][4]["funds"] == "604.85"
    assert now["totalFunds"] == "6405.47"
    local = between.astimezone(timezone(timedelta(hours=8))).isoformat()
    old = table(api, "KEY_PROJECTS", asOf=local)
    assert old["evaluationTable"]["rows"][4]["funds"] == "640.85"
    assert old["evaluationTable"]["totalFunds"] == "6441.47"
    assert old["position"] == first["position"]
    pinned = table(api, "KEY_PROJECTS", position=first["position"])
    assert pinned["evaluationTable"]["totalFunds"] == "6441.47"
    restated = api.data("""query($since: DateTime) { ledger { restatements(fiscalYear: 2022,
        table: KEY_PROJECTS, since: $since) { subjectName field before after
        corrections { position correctsPosition changes } } } }""",
                        {"since": local})["ledger"]["restatements"]
    assert [(r["field"], r["before"], r["after"]) for r in restated] == [
        ("funds", "640.85", "604.85")]
    assert restated[0]["corrections"][0]["correctsPosition"] == registered["position"]


@pytest.mark.slow
def test_effective_on_hides_facts_dated_later(sample_api: Api) -> None:
    query = """query($d: Date) { ledger(effectiveOn: $d) { effectiveOn
        evaluationTable(fiscalYear: 2022, table: DEPARTMENT_OVERALL) { rows { grade } }
        coverage(fiscalYear: 2022) { subjects } } }"""
    early = sample_api.data(query, {"d": "2022-08-31"})["ledger"]
    assert early["effectiveOn"] == "2022-08-31"
    assert early["evaluationTable"]["rows"] == []  # evaluated 2023-03-15 in the sample
    assert early["coverage"]["subjects"] == 16
    late = sample_api.data(query, {"d": "2023-12-31"})["ledger"]
    assert len(late["evaluationTable"]["rows"]) == 6


def test_coverage_subjects_subject_and_audit_trail(sample_api: Api) -> None:
    found = sample_api.data("""{ ledger {
        coverage(fiscalYear: 2022) { subjects funds selfEvaluationCoverage
            gradeDistribution { grade label count } monitoringRounds { roundName subjects }
            statements }
        page1: subjects(fiscalYear: 2022, first: 10) { edges { node { code grade } }
            pageInfo { hasNextPage endCursor } }
        good: subjects(grade: GOOD) { edges { node { code gradeLabel } } }
        subject(code: "XS-2022-DO-01") { code kind funds grade gradeLabel annex
            goals { level1 name weight } monitoring { roundName executionRate windowEnd }
            selfEvaluation { score parts { name points } }
            evaluations { kind score evaluatedOn dimensions { name weight score } }
            grading { grade label score basisKind }
            consequences { kind citesKind } rectifications { status }
            auditTrail(first: 3) { edges { node { type actorId } } pageInfo { hasNextPage } } }
        missing: subject(code: "NOPE") { code } } }""")["ledger"]
    cov = found["coverage"]
    assert cov["subjects"] == 16 and cov["funds"] == "31030.61"
    assert cov["selfEvaluationCoverage"] == "100.00"
    assert {g["label"]: g["count"] for g in cov["gradeDistribution"]} == {
        "优": 11, "良": 5, "中": 0, "差": 0}
    assert found["page1"]["pageInfo"]["hasNextPage"] is True
    assert len(found["page1"]["edges"]) == 10
    cursor = found["page1"]["pageInfo"]["endCursor"]
    rest = sample_api.data("""query($after: String) { ledger { subjects(fiscalYear: 2022,
        after: $after) { edges { node { code } } pageInfo { hasNextPage } } } }""",
                           {"after": cursor})["ledger"]["subjects"]
    codes = [e["node"]["code"] for e in found["page1"]["edges"] + rest["edges"]]
    assert len(codes) == len(set(codes)) == 16 and rest["pageInfo"]["hasNextPage"] is False
    assert len(found["good"]["edges"]) == 5
    assert all(e["node"]["gradeLabel"] == "良" for e in found["good"]["edges"])
    subject = found["subject"]
    assert subject["kind"] == "subdistrict" and subject["annex"] == "DEPARTMENT_OVERALL"
    assert subject["grading"]["label"] == subject["gradeLabel"]
    assert [d["name"] for d in subject["evaluations"][0]["dimensions"]] == [
        "部门决策", "部门管理", "部门产出", "部门效益"]
    assert subject["monitoring"][0]["windowEnd"] == "2022-08-31"
    assert subject["auditTrail"]["edges"][0]["node"]["type"] == "Subject.Registered"
    assert found["missing"] is None


@pytest.mark.slow
def test_disclosure_records_what_was_disclosed(sample_api: Api) -> None:
    done = sample_api.mutate("recordDisclosure", {
        "commandId": cid(), "fiscalYear": 2022, "audience": "STANDING_COMMITTEE",
        "title": "2022年度重点绩效评价结果", "subjectCodes": ["XS-2022-KP-01", "XS-2022-KP-05"],
        "contentHash": "ab" * 32, "contentPosition": 10})
    assert done["__typename"] == "RecordDisclosureResult"
    package = sample_api.data("""query($p: Int) { ledger(position: $p) {
        disclosure(fiscalYear: 2022, audience: STANDING_COMMITTEE) { audience
            disclosures { title contentHash subjectCodes position }
            subjects { code funds } } } }""", {"p": done["position"]})["ledger"]["disclosure"]
    assert package["audience"] == "STANDING_COMMITTEE"
    assert package["disclosures"][0]["contentHash"] == "ab" * 32
    assert sorted(s["code"] for s in package["subjects"]) == ["XS-2022-KP-01", "XS-2022-KP-05"]


@pytest.mark.slow
def test_raw_event_log_is_keyset_paginated(sample_api: Api) -> None:
    query = """query($after: Int!) { events(after: $after, first: 100) {
        edges { cursor node { position type aggregateId version commandId payload } }
        pageInfo { hasNextPage endCursor } } }"""
    after, seen = 0, []
    while True:
        page = sample_api.data(query, {"after": after})["events"]
        seen += [e["node"]["position"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = int(page["pageInfo"]["endCursor"])
    assert seen == sorted(seen) and len(seen) == len(set(seen)) > 150
    first = sample_api.data(query, {"after": 0})["events"]["edges"][0]["node"]
    assert first["type"] == "Unit.Registered" and first["payload"]["code"] == "XS-CZJ"


# -- caching -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_pinned_answers_are_immutable_cached_and_etagged(sample_api: Api) -> None:
    api = sample_api
    position = table(api, "KEY_PROJECTS")["position"]
    variables = {"table": "KEY_PROJECTS", "position": position}
    first = api.get(TABLE, variables)
    assert first.status_code == 200
    # the bureau's answer: private (a shared cache must not hand it on), by Authorization
    assert first.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert first.headers["vary"] == "Authorization"
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    graphql = api.client.app.state.graphql  # type: ignore[attr-defined]
    hits = graphql.cache.hits
    again = api.get(TABLE, variables)
    assert again.content == first.content and graphql.cache.hits == hits + 1
    assert again.headers["etag"] == etag
    unchanged = api.get(TABLE, variables, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged.headers["etag"] == etag
    # a later write does not change the pinned answer
    api.mutate("registerUnit", {"commandId": cid(), "code": "NEW", "name": "新单位"})
    assert api.get(TABLE, variables).content == first.content


@pytest.mark.slow
def test_answers_at_now_are_not_cached(sample_api: Api) -> None:
    api = sample_api
    now = api.get(TABLE, {"table": "KEY_PROJECTS"})
    assert now.status_code == 200 and now.headers["cache-control"] == "no-store"
    assert "etag" not in now.headers
    latest = table(api, "KEY_PROJECTS")["position"]
    api.mutate("registerUnit", {"commandId": cid(), "code": "NEW", "name": "新单位"})
    after = api.get(TABLE, {"table": "KEY_PROJECTS"}).json()["data"]["ledger"]["position"]
    assert after > latest
    # asOf answers and the raw log are not cached either
    timed = api.get(TABLE, {"table": "KEY_PROJECTS",
                            "asOf": datetime.now(UTC).isoformat()})
    assert timed.headers["cache-control"] == "no-store"
    log = api.get("{ events(first: 1) { edges { cursor } } }")
    assert log.headers["cache-control"] == "no-store"
    post = api.client.post("/graphql", json={"query": TABLE, "variables": {
        "table": "KEY_PROJECTS", "position": latest}})
    assert post.headers["cache-control"] == "no-store"


# -- refusals and protections -----------------------------------------------------------------


def errors(api: Api, query: str, variables: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    body = api.post(query, variables)
    assert body.get("errors"), body
    found: list[dict[str, Any]] = body["errors"]
    return found


@pytest.mark.slow
def test_naive_times_and_floats_are_refused(api: Api) -> None:
    naive = errors(api, TABLE, {"table": "KEY_PROJECTS", "asOf": "2022-09-30T18:00:00"})
    assert "timezone" in naive[0]["message"]
    literal = errors(api, '{ ledger(asOf: "2022-09-30T18:00:00") { position } }')
    assert "timezone" in literal[0]["message"]
    money = api.post("""mutation { registerSubject(input: {commandId: "abcdefgh-1", code: "S",
        name: "n", kind: PROJECT, fiscalYear: 2022, unitCode: "U", funds: 640.85}) {
        __typename } }""")
    assert "errors" in money and "float" in money["errors"][0]["message"]
    as_variable = api.post("""mutation($f: Decimal!) { registerSubject(input: {commandId:
        "abcdefgh-2", code: "S", name: "n", kind: PROJECT, fiscalYear: 2022, unitCode: "U",
        funds: $f}) { __typename } }""", {"f": 640.85})
    assert "errors" in as_variable and "float" in as_variable["errors"][0]["message"]


@pytest.mark.slow
def test_page_sizes_positions_and_cursors_are_checked(sample_api: Api) -> None:
    api = sample_api
    for i in range(60):
        do(api.ledger, "register_unit", code=f"EXTRA{i}", name=f"单位{i}")
    capped = api.data("{ events(first: 500) { edges { cursor } pageInfo { hasNextPage } } }")
    assert len(capped["events"]["edges"]) == 200 and capped["events"]["pageInfo"]["hasNextPage"]
    audit = api.data("{ ledger { auditTrail(first: 100000) { edges { cursor } } } }")
    assert len(audit["ledger"]["auditTrail"]["edges"]) == 200
    empty = errors(api, "{ ledger { subjects(first: 0) { edges { node { code } } } } }")
    assert empty[0]["extensions"] == {"code": "BAD_USER_INPUT", "reason": "PAGE_SIZE"}
    bad = errors(api, '{ ledger { auditTrail(after: "x") { edges { cursor } } } }')
    assert bad[0]["extensions"]["reason"] == "BAD_CURSOR"
    ahead = errors(api, "{ ledger(minPosition: 99999) { position } }")
    assert ahead[0]["extensions"]["reason"] == "POSITION_NOT_REACHED"
    assert "beyond" in errors(api, "{ ledger(position: 99999) { position } }")[0]["message"]
    negative = errors(api, "{ ledger(position: -1) { position } }")
    assert negative[0]["extensions"]["reason"] == "BAD_MOMENT"


@pytest.mark.slow
def test_depth_alias_and_token_limits(api: Api) -> None:
    from schema import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS

    deepest = """{ ledger { subject(code: "x") { auditTrail(first: 1) {
        edges { node { changes } } } } } }"""
    assert "errors" not in api.post(deepest)
    nested = "x { " * (MAX_DEPTH + 2) + "y" + " }" * (MAX_DEPTH + 2)
    assert any("maximum operation depth" in e["message"]
               for e in errors(api, "{ ledger { " + nested + " } }"))
    aliased = "fragment F on Ledger { position }\nquery { " + " ".join(
        f"a{i}: ledger {{ ...F }}" for i in range(MAX_ALIASES + 1)) + " }"
    assert "aliases" in errors(api, aliased)[0]["message"]
    tokens = "{ ledger { " + "position " * MAX_TOKENS + "} }"
    assert "token" in errors(api, tokens)[0]["message"].lower()


@pytest.mark.slow
def test_body_size_is_capped(api: Api) -> None:
    response = api.client.post("/graphql", content=b"{" + b" " * (2 << 20) + b"}",
                               headers={"content-type": "application/json"})
    assert response.status_code == 413


@pytest.mark.slow
def test_unexpected_failures_are_masked(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    services = api.client.app.state.services  # type: ignore[attr-defined]

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("SELECT secret FROM internal_table")

    monkeypatch.setattr(services.read_model, "coverage", broken)
    response = api.client.post("/graphql", json={
        "query": "{ ledger { coverage(fiscalYear: 2022) { subjects } } }"})
    assert response.status_code == 200
    body = response.json()
    assert body["errors"][0]["message"] == "Unexpected error."
    assert "secret" not in response.text and "Traceback" not in response.text


@pytest.mark.slow
@pytest.mark.parametrize(("method", "kwargs", "status"), [
    ("POST", {"content": b'"just a string"'}, 400),
    ("POST", {"content": b"[1, 2]"}, 400),  # batching is off
    ("POST", {"content": b"{not json"}, 400),
    ("POST", {"json": {"query": "subscription { events { position } }"}}, 400),
    ("GET", {"params": {"query": 'mutation { adoptRules(input: {commandId: "abcdefgh", '
                                 'rules: {}}) { __typename } }'}}, 400),
    ("PUT", {}, 405),
])
def test_malformed_requests_are_client_errors(api: Api, method: str, kwargs: dict[str, Any],
                                              status: int) -> None:
    headers = {"content-type": "application/json"} if "content" in kwargs else {}
    response = api.client.request(method, "/graphql", headers=headers, **kwargs)
    assert response.status_code == status, response.text


@pytest.mark.slow
def test_unknown_fragments_are_validation_errors(api: Api) -> None:
    for query in ("{ ...F }", "{ ledger { ...F } }", "query { ledger { subject(code: \"x\") "
                  "{ ...G } } } fragment G on Subject { ...H }"):
        found = errors(api, query)
        assert "Unknown fragment" in found[0]["message"], found


@pytest.mark.slow
def test_the_app_also_serves_the_annex_downloads(sample_api: Api,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Any) -> None:
    monkeypatch.setenv("JIXIAO_KEY_FILE", str(tmp_path / "no-such.key"))
    response = sample_api.client.get("/exports/2022/department-overall.csv")
    assert response.status_code == 200, response.text
    assert "24589.14" in response.content.decode("utf-8-sig")


@pytest.mark.slow
def test_the_answer_cache_is_bounded_in_entries_and_bytes() -> None:
    from schema.app import AnswerCache

    cache = AnswerCache(entries=3, budget=100)
    for i in range(5):
        cache.put((f"q{i}", "", 1), b"x" * 10)
    assert list(cache.items) == [("q2", "", 1), ("q3", "", 1), ("q4", "", 1)]
    cache.put(("big", "", 1), b"y" * 90)
    assert cache.size <= 100 and ("big", "", 1) in cache.items
    assert cache.get(("q2", "", 1)) is None


@pytest.mark.slow
def test_the_app_serves_the_disclosure_portal_at_the_root(api: Api) -> None:
    page = api.client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert api.client.get("/portal/info.json").status_code == 200
