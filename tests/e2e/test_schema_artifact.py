"""schema/schema.graphql is generated from the code; this fails when the two differ."""

from __future__ import annotations

from pathlib import Path

import pytest

import schema
from ledger.store import Database
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


def test_schema_export_command(tmp_path: Path) -> None:
    from jixiao.cli import main

    target = tmp_path / "out.graphql"
    assert main(["schema", "export", "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == schema.schema_sdl()
    assert main(["schema", "export", "--check"]) == 0


@pytest.mark.slow
def test_serve_prepares_the_store_and_loads_the_sample_once(database: Database) -> None:
    from jixiao.serve import prepare

    first = prepare(database, sample=True)
    assert first > 0
    assert prepare(database, sample=True) == first  # not empty any more: nothing reloaded
