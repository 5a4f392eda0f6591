"""schema/schema.graphql is generated from the code; this fails when the two differ."""

from __future__ import annotations

from pathlib import Path

import schema
from schema.cli import SCHEMA_FILE


def test_committed_schema_matches_the_code() -> None:
    committed = Path(SCHEMA_FILE).read_text(encoding="utf-8")
    assert committed == schema.schema_sdl(), (
        "schema/schema.graphql is out of date: run `jixiao schema export` (or "
        "`python -m schema.export`) and commit the result")


def test_the_contract_names_are_in_the_schema() -> None:
    sdl = schema.schema_sdl()
    for needle in ("ledger(position: Int", "asOf: DateTime", "effectiveOn: Date",
                   "minPosition: Int", "evaluationTable(fiscalYear: Int!, table: AnnexKind!)",
                   "totalFunds: Decimal!", "gradeLabel: String", "enum Grade {",
                   "KEY_PROJECTS", "DEPARTMENT_OVERALL", "events(after: Int! = 0",
                   "union RegisterUnitPayload = RegisterUnitResult | ValidationError | "
                   "RuleViolation | Conflict | NotFound | Forbidden | Unavailable",
                   "events(afterPosition: Int = null): LogEvent!"):
        assert needle in sdl, needle
