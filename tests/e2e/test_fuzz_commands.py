"""Hypothesis on the command layer: random command dicts (random fields, types, actors) into
every Ledger method. Only DomainError subclasses may escape; afterwards the sealed log still
verifies and the projections rebuild to the same hashes (issue 7).

Also schemathesis over GraphQL with a real finance_bureau token, so that the mutations are
exercised past the permission check (the anonymous fuzz in test_api_fuzz only reaches it).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger.errors import DomainError
from ledger.integrity.checkpoint import NoteSigner
from ledger.integrity.sealer import verify_store
from ledger.integrity.service import checkpoint_now
from ledger.permissions import MATRIX, ROLES
from ledger.runtime import Actor
from ledger.sample.loader import AGENCY
from ledger.store import Database
from projections.hashing import all_hashes
from projections.projector import Runner

pytestmark = pytest.mark.slow  # fuzzing: not in the fast tier

MAX_EXAMPLES = 300  # per backend: a few seconds

CODES = ["XS-2022-KP-01", "XS-2022-KP-02", "XS-U01", "XS-U02", "XS-CZJ", AGENCY[0], "NOPE", ""]
FIELDS = ["command_id", "code", "name", "kind", "fiscal_year", "unit_code", "parent_code",
          "funds", "subject_code", "agency_code", "commission_id", "evaluation_id", "decision",
          "indicators", "dimensions", "reason", "round_name", "window_start", "window_end",
          "budget_amount", "executed_amount", "score", "grade", "basis_kind", "basis_id",
          "audience", "title", "subject_codes", "content_hash", "content_position", "position",
          "values", "effective_on", "evaluated_on", "items", "deadline", "rectification_id",
          "report", "comments", "year", "rating", "conclusion", "narrative", "cites_kind",
          "cites_id", "commissioned_by", "expected_version", "rules", "extra"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(CODES), st.sampled_from(["640.85", "-1", "1e999999", "NaN", "0.001",
                                             "2022-02-30", "2022-09-30", "approve", "public",
                                             "EXCELLENT", "project", "a" * 64, "x" * 5000]),
    st.dates(date(1900, 1, 1), date(2200, 1, 1)).map(date.isoformat))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(FIELDS), inner, max_size=3)),
    max_leaves=8)
S = "XS-2022-KP-01"
# Valid-looking starting points, so that mutations reach the rules and the save, not only
# the validator.
TEMPLATES: dict[str, dict[str, Any]] = {
    "register_unit": {"code": "FZ-U1", "name": "单位", "parent_code": "XS-U01"},
    "register_subject": {"code": "FZ-S1", "name": "x", "kind": "project", "fiscal_year": 2022,
                         "unit_code": "XS-U01", "funds": "1.00"},
    "record_monitoring": {"subject_code": S, "round_name": "r", "window_start": "2022-01-01",
                          "window_end": "2022-07-31", "budget_amount": "1.00",
                          "executed_amount": "0.50"},
    "review_goals": {"subject_code": S, "decision": "approve"},
    "request_rectification": {"subject_code": S, "items": ["a"], "deadline": "2023-06-30"},
    "record_disclosure": {"fiscal_year": 2022, "audience": "public", "title": "t",
                          "subject_codes": [S], "content_hash": "a" * 64,
                          "content_position": 1},
    "admit_agency": {"code": "FZ-AG", "name": "事务所"},
    "suspend_agency": {"code": AGENCY[0], "reason": "r"},
    "correct_event": {"position": 5, "values": {"name": "改"}, "reason": "x"},
    "commission_evaluation": {"subject_code": S, "agency_code": AGENCY[0],
                              "commissioned_by": "XS-CZJ"},
    "open_monitoring_round": {"round_id": "FZ-R1", "name": "r", "fiscal_year": 2022,
                              "due_on": "2022-09-20", "unit_codes": ["XS-U01"]},
    "act_on_warning": {"subject_code": "XS-2022-KP-10", "snapshot_id": "mon-x",
                       "warning_index": 0, "action": "suspend", "remarks": "暂缓"},
}
command_ids = st.one_of(st.sampled_from([f"fuzz-cmd-{i:04d}" for i in range(8)]),
                        st.uuids().map(lambda u: f"fuzz-{u.hex}"),
                        st.uuids().map(lambda u: f"fuzz-{u.hex}"), values)


@st.composite
def commands(draw: st.DrawFn, name: str) -> dict[str, Any]:
    """A template (when there is one) with some fields dropped or replaced, or pure noise."""
    template = TEMPLATES.get(name)
    if template is None or draw(st.integers(0, 3)) == 0:
        base = draw(st.dictionaries(st.sampled_from(FIELDS), values, max_size=6))
    else:
        base = dict(template)
        change = draw(st.integers(0, 3))
        if change == 1:
            base.pop(draw(st.sampled_from(sorted(base))))
        elif change == 2:
            base[draw(st.sampled_from(sorted(base)))] = draw(values)
        elif change == 3:
            base.update(draw(st.dictionaries(st.sampled_from(FIELDS), values, max_size=1)))
    base["command_id"] = draw(command_ids)
    return base


names = st.one_of(st.sampled_from(sorted(TEMPLATES)), st.sampled_from(sorted(MATRIX)))
BUREAU = Actor(id="fuzz-bureau", role="finance_bureau", unit_code="XS-CZJ")
anyone = st.builds(Actor, id=st.text(min_size=1, max_size=8), role=st.sampled_from(ROLES),
                   unit_code=st.sampled_from([None, "XS-U01", "XS-U02"]),
                   agency_code=st.sampled_from([None, AGENCY[0]]))
actors = st.just(BUREAU) | st.just(BUREAU) | anyone


@pytest.fixture
def sampled(unpublished_sample: Database) -> Iterator[Ledger]:
    ledger = Ledger(unpublished_sample)
    try:
        yield ledger
    finally:
        ledger.close()


def test_random_commands_only_ever_meet_typed_refusals(sampled: Ledger,
                                                       unpublished_sample: Database) -> None:
    database = unpublished_sample
    sampled.event_key.use(signer := NoteSigner.generate("jixiao.test/fuzz"))  # MACs appends
    checkpoint_now(database, sampled, signer)
    runner = Runner(database, sampled)
    try:
        runner.catch_up()

        outcomes: dict[str, int] = {}

        @given(data=st.data(), actor=actors, repeat=st.booleans())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(data: st.DataObject, actor: Actor, repeat: bool) -> None:
            name = data.draw(names)
            command = data.draw(commands(name))
            method = getattr(sampled, name)
            for _ in range(2 if repeat else 1):  # a retry of the same command id, too
                try:
                    method(command, actor)
                    outcomes["ok"] = outcomes.get("ok", 0) + 1
                except DomainError as exc:
                    outcomes[exc.kind] = outcomes.get(exc.kind, 0) + 1

        run()
        print(outcomes)
        assert len(outcomes) >= 3, outcomes  # the fuzz reached past validation
        head = int(sampled.recorder.max_notification_id() or 0)
        checkpoint_now(database, sampled, signer)
        assert verify_store(database, sampled, signer.verifier()).ok
        runner.catch_up()
        before = all_hashes(database, runner.conn, head)
        runner.reset()
        runner.catch_up()
        assert all_hashes(database, runner.conn, head) == before
    finally:
        runner.close()


FUZZ_EXAMPLES = 8  # per mutation and backend, with a finance_bureau token


@pytest.mark.fuzz
def test_authenticated_mutations_never_fail_the_server(unpublished_sample: Database) -> None:
    import schemathesis
    from hypothesis import Phase
    from schemathesis.checks import not_a_server_error
    from schemathesis.python.asgi import shutdown_lifespans
    from starlette.testclient import TestClient

    import tests.e2e.test_api_fuzz  # noqa: F401  (registers the custom scalar strategies)
    from jixiao.app import create_app
    from tests.e2e.conftest import Api, bearer, issue_token

    database = unpublished_sample
    headers = bearer(issue_token(database))
    schema = schemathesis.graphql.from_asgi("/graphql", create_app(database, rate_limit=None))
    failures: list[str] = []
    try:
        for result in schema.get_all_operations():
            operation: Any = result.ok()  # type: ignore[union-attr]
            if operation.definition.is_query:  # queries: test_api_fuzz covers them
                continue

            @given(case=operation.as_strategy())
            @settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True,
                      database=None, suppress_health_check=list(HealthCheck),
                      phases=[Phase.generate])
            def run(case: Any) -> None:
                response = case.call_and_validate(headers=headers,
                                                  checks=[not_a_server_error])
                assert response.status_code < 500 and "Traceback" not in response.text
                assert "Unexpected error." not in response.text, response.text

            try:
                run()
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label}: {exc!r}")
    finally:
        shutdown_lifespans()
    assert not failures, "\n\n".join(failures)
    # The token gets a mutation past the permission check into the log. Asked of a known
    # input: whether any fuzzed input is valid enough to be recorded depends on what
    # hypothesis draws, and it draws on the string constants of the code under test.
    with TestClient(create_app(database, rate_limit=None), headers=headers) as client:
        done = Api(client).mutate("registerUnit", {"commandId": "fuzz-token-check",
                                                   "code": "FUZZ-U1", "name": "fuzz"})
    assert done["__typename"] == "RegisterUnitResult" and done["position"] > 0, done
