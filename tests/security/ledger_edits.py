"""Edits an attacker (or a careless clerk) can make through the API, for the export attacks.

Each helper goes through /graphql with a real token, as a client would, and fails loudly if
the ledger refuses, so that an attack test never passes because its set-up did nothing.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.security.conftest import Served

AUDIT_TRAIL = """query($code: String!) { ledger { auditTrail(subjectCode: $code, first: 200) {
    edges { node { position type aggregateId } } } subject(code: $code) { unitCode } } }"""
RESULT = ("... on CommandSuccess { position } ... on Refusal { code field rule message } "
          "... on ValidationError { problems { field rule message } }")


def command_id() -> str:
    return f"attack-{uuid.uuid4().hex}"


def mutate(served: Served, name: str, data: dict[str, Any],
           headers: dict[str, str]) -> dict[str, Any]:
    """Run one mutation; return its CommandSuccess payload, or fail with the refusal."""
    pascal = name[0].upper() + name[1:]
    query = f"mutation($input: {pascal}Input!) {{ {name}(input: $input) {{ {RESULT} }} }}"
    body = served.graphql(query, {"input": {"commandId": command_id(), **data}},
                          headers).json()
    assert "errors" not in body, json.dumps(body, ensure_ascii=False)
    payload: dict[str, Any] = body["data"][name]
    assert "position" in payload, json.dumps(payload, ensure_ascii=False)
    return payload


def event_position(served: Served, subject_code: str, event_type: str) -> tuple[int, str]:
    """(position, aggregate id) of the subject's first event of the type, and its unit code."""
    body = served.graphql(AUDIT_TRAIL, {"code": subject_code}, served.bureau).json()
    assert "errors" not in body, body
    for edge in body["data"]["ledger"]["auditTrail"]["edges"]:
        node = edge["node"]
        if node["type"].endswith(event_type):
            return int(node["position"]), str(body["data"]["ledger"]["subject"]["unitCode"])
    raise AssertionError(f"{subject_code} has no {event_type} event")


def correct(served: Served, position: int, values: dict[str, str]) -> int:
    """A finance bureau's correction of an event's values; the new position."""
    payload = mutate(served, "correctEvent", {"position": position, "values": values,
                                              "reason": "更正"}, served.bureau)
    return int(payload["position"])


def rename_subject(served: Served, code: str, name: str) -> str:
    """Correct the subject's registered name; returns its unit code."""
    position, unit = event_position(served, code, "Registered")
    correct(served, position, {"name": name})
    return unit


def rewrite_assessment(served: Served, code: str, narrative: str) -> None:
    """Correct the narrative of the subject's evaluation (the annex's 评价情况)."""
    position, _unit = event_position(served, code, "EvaluationRecorded")
    correct(served, position, {"narrative": narrative})


def rename_unit(served: Served, unit_code: str, name: str) -> None:
    """Correct a unit's registered name (the annex's 实施单位)."""
    query = """query($code: String!) { ledger { auditTrail(unitCode: $code, first: 200) {
        edges { node { position type subjectId } } } } }"""
    body = served.graphql(query, {"code": unit_code}, served.bureau).json()
    assert "errors" not in body, body
    for edge in body["data"]["ledger"]["auditTrail"]["edges"]:
        node = edge["node"]
        if node["type"].endswith("Registered") and node["subjectId"] is None:
            correct(served, int(node["position"]), {"name": name})
            return
    raise AssertionError(f"unit {unit_code} has no Registered event in its trail")
