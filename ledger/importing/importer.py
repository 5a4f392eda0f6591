"""Record a published annex table in the ledger: units, subjects, evaluations, grades.

The whole table goes in as one batch (all or nothing): a table is a published
document, and half of it in the ledger would be a fact nobody published. Every
command id is derived from the file's SHA-256 and the row, so importing the same
file again replays instead of appending. Unit and subject codes are derived from
names, so the same table from another file (the .csv of an .xlsx) is recognised:
rows whose facts are already in the ledger are skipped, rows that contradict the
ledger are refused (a wrong fact is corrected with correct_event, never by
re-importing over it).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

from eventsourcing.application import AggregateNotFoundError

from ledger import commands as c
from ledger.application import Ledger
from ledger.domain.base import stable_id
from ledger.domain.subject import Subject
from ledger.errors import DomainError, InvalidInput, NotFound
from ledger.importing.table_reader import (
    ParsedAnnex,
    ParsedRow,
    TableImportError,
    TableProblem,
    read_annex_file,
)
from ledger.runtime import Actor, parse_command

TableKind = Literal["key-projects", "department-overall"]
TABLES: tuple[TableKind, ...] = ("key-projects", "department-overall")
IMPORT_ACTOR = Actor(id="import-table", role="finance_bureau")
FISCAL_OPERATIONS_MARK = "财政运行综合绩效"
# The 评价情况 the ledger records when the published table has none (it must say something).
NO_ASSESSMENT_COLUMN = "（原表未列评价情况栏，导入时无评价情况文字）"
EMPTY_ASSESSMENT = "（原表此行评价情况为空）"
_TITLE_YEAR = re.compile(r"(?<!\d)(\d{4})\s*年")
_TITLE_WORDS: dict[TableKind, str] = {"key-projects": "重点项目", "department-overall": "部门整体"}


def evaluated_on(fiscal_year: int) -> date:
    """The date recorded for an imported evaluation: the last day of the fiscal year.

    Published tables do not date their evaluations; the year-end is the latest day
    the evaluated spending can be about, so "as known, effective on D" views show
    the imported grades from the close of the year on.
    """
    return date(fiscal_year, 12, 31)


def normalise_name(name: str) -> str:
    """Full-width forms folded and whitespace dropped: how codes see a name."""
    return "".join(unicodedata.normalize("NFKC", name).split())


def unit_code_for(name: str) -> str:
    """A unit's code from its name alone, so every import finds the same unit."""
    return "U-" + hashlib.sha256(normalise_name(name).encode()).hexdigest()[:12]


def subject_code_for(fiscal_year: int, table: TableKind, name: str) -> str:
    """A subject's code from year, table and name, so any file of the table finds it."""
    digest = hashlib.sha256(normalise_name(name).encode()).hexdigest()[:12]
    return f"IMP-{fiscal_year}-{'KP' if table == 'key-projects' else 'DO'}-{digest}"


def unit_kind(name: str, supervising: bool) -> str:
    """What the unit column lets us know about the unit's place in the hierarchy.

    Streets and townships say so in their names. A supervising department (主管部门)
    heads its own hierarchy, so it is a "department". An implementing unit could be a
    department or a 所属单位 whose parent the table does not name: only a 局 is known
    to be a department, anything else is "other".
    """
    plain = normalise_name(name)
    if plain.endswith("街道办事处"):
        return "street"
    if plain.endswith(("镇人民政府", "乡人民政府")):
        return "township"
    if supervising or plain.endswith("局"):
        return "department"
    return "other"


def subject_kind(table: TableKind, name: str) -> str:
    if table == "department-overall":
        return "department_overall"
    return "fiscal_operations" if FISCAL_OPERATIONS_MARK in name else "project"


@dataclass(frozen=True)
class ImportResult:
    """What an import did; `appended` is False when everything was already recorded."""

    file: str
    sha256: str
    fiscal_year: int
    table: TableKind
    unit_column_is_supervising: bool
    rows: int
    units_registered: tuple[str, ...]
    subjects_recorded: tuple[str, ...]
    rows_already_recorded: tuple[int, ...]
    position_before: int
    position_after: int
    notes: tuple[str, ...] = field(default=())

    @property
    def appended(self) -> bool:
        return self.position_after != self.position_before


@dataclass
class _Plan:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    problems: list[TableProblem] = field(default_factory=list)


def import_table(ledger: Ledger, path: Path, *, fiscal_year: int, table: TableKind,
                 unit_column_is_supervising: bool | None = None,
                 actor: Actor = IMPORT_ACTOR) -> ImportResult:
    """Import one annex table file; raises TableImportError and appends nothing on a problem.

    `unit_column_is_supervising` None means: as the header says (主管部门 → supervising).
    """
    if table not in TABLES:
        raise ValueError(f"table must be one of {', '.join(TABLES)}, not {table!r}")
    before = _head(ledger)
    parsed = read_annex_file(path)  # first: it names an unreadable file as a problem
    supervising = (unit_column_is_supervising if unit_column_is_supervising is not None
                   else "主管部门" in parsed.header_map["unit"])
    parsed = replace(parsed, unit_column_is_supervising=supervising)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    notes = _notes(parsed, supervising, unit_column_is_supervising is None)
    plan = _plan(ledger, parsed, sha, fiscal_year, table, supervising)
    plan.problems[:0] = _title_problems(parsed, fiscal_year, table)
    if plan.problems:
        raise TableImportError(plan.problems)
    if plan.calls:
        try:
            ledger.execute_batch(plan.calls, actor)
        except DomainError as exc:
            raise TableImportError([TableProblem(parsed.file, None, None, "ledger-refused",
                                                 f"the ledger refused the table: {exc}")]) from exc
    return ImportResult(
        file=parsed.file, sha256=sha, fiscal_year=fiscal_year, table=table,
        unit_column_is_supervising=supervising, rows=len(parsed.rows),
        units_registered=tuple(plan.units), subjects_recorded=tuple(plan.subjects),
        rows_already_recorded=tuple(plan.skipped), position_before=before,
        position_after=_head(ledger), notes=notes)


def _head(ledger: Ledger) -> int:
    return int(ledger.recorder.max_notification_id() or 0)


def _notes(parsed: ParsedAnnex, supervising: bool, inferred: bool) -> tuple[str, ...]:
    header = parsed.header_map["unit"]
    if supervising:
        why = f"the header says {header!r}" if inferred else "--unit-column-is supervising"
        return (f"unit column read as supervising departments (主管部门) because {why}: "
                "each subject is recorded under its 主管部门, registered as a department",)
    return (f"unit column {header!r} read as implementing units (实施单位)",)


def _title_problems(parsed: ParsedAnnex, fiscal_year: int,
                    table: TableKind) -> list[TableProblem]:
    """A title that names another year or the other annex means the wrong --year/--table."""
    title = parsed.title or ""
    problems = []
    years = {int(y) for y in _TITLE_YEAR.findall(unicodedata.normalize("NFKC", title))}
    if years and fiscal_year not in years:
        problems.append(TableProblem(parsed.file, None, None, "year-mismatch",
                                     f"the title {title!r} names {sorted(years)}, "
                                     f"not --year {fiscal_year}"))
    other: TableKind = "department-overall" if table == "key-projects" else "key-projects"
    if _TITLE_WORDS[other] in title and _TITLE_WORDS[table] not in title:
        problems.append(TableProblem(parsed.file, None, None, "table-mismatch",
                                     f"the title {title!r} is a {other} table, not {table}"))
    return problems


def _plan(ledger: Ledger, parsed: ParsedAnnex, sha: str, fiscal_year: int, table: TableKind,
          supervising: bool) -> _Plan:
    """The batch of commands, after checking every row against the ledger as it stands."""
    plan = _Plan()
    seed = hashlib.sha256(f"{sha}\n{fiscal_year}\n{table}\n{supervising}".encode()).hexdigest()
    prefix = f"imp-{seed[:24]}"
    start = date(fiscal_year, 1, 1)
    names: dict[str, int] = {}
    for row in parsed.rows:
        code = subject_code_for(fiscal_year, table, row.subject_name)
        where = parsed.header_map["subject"]
        if code in names:
            plan.problems.append(TableProblem(parsed.file, row.source_row, where,
                                              "duplicate-subject",
                                              f"{row.subject_name!r} already on row "
                                              f"{names[code]}"))
            continue
        names[code] = row.source_row
        unit = unit_code_for(row.unit_name)
        if unit not in plan.units and not _exists(ledger, "unit", unit):
            registration = ("register_unit", {
                "command_id": f"{prefix}-u-{unit}", "code": unit, "name": row.unit_name.strip(),
                "kind": unit_kind(row.unit_name, supervising), "effective_on": start})
            if not _validate(parsed, row, [registration], plan.problems):
                continue
            plan.units.append(unit)
            plan.calls.append(registration)
        steps = _row_commands(parsed, row, f"{prefix}-r{row.source_row}", code, unit,
                              fiscal_year, table)
        existing = _subject(ledger, code)
        if existing is not None:
            if _exists(ledger, "command", steps[0][1]["command_id"]):
                plan.skipped.append(row.source_row)  # imported from this very file before
                continue
            found = _compare(parsed, row, existing, steps)
            if found is None:
                plan.skipped.append(row.source_row)  # the same facts, from another file
                continue
            if found:
                plan.problems.append(found[0])
                continue
            steps = steps[1:]  # registered elsewhere, identically, but not yet evaluated
        if _validate(parsed, row, steps, plan.problems):
            plan.calls.extend(steps)
            plan.subjects.append(code)
    return plan


def _row_commands(parsed: ParsedAnnex, row: ParsedRow, prefix: str, code: str, unit: str,
                  fiscal_year: int, table: TableKind) -> list[tuple[str, dict[str, Any]]]:
    on = evaluated_on(fiscal_year)
    if "assessment" not in parsed.header_map:
        narrative = NO_ASSESSMENT_COLUMN
    else:
        narrative = row.assessment if row.assessment is not None else EMPTY_ASSESSMENT
    evaluation_id = f"{prefix}-eval"
    return [
        ("register_subject", {
            "command_id": f"{prefix}-subject", "code": code, "name": row.subject_name,
            "kind": subject_kind(table, row.subject_name), "fiscal_year": fiscal_year,
            "unit_code": unit, "funds": row.funds, "is_key": table == "key-projects",
            "effective_on": date(fiscal_year, 1, 1)}),
        ("record_evaluation", {
            "command_id": f"{prefix}-evaluation", "subject_code": code,
            "evaluation_id": evaluation_id, "kind": "finance",
            "published_grade": row.grade.value, "narrative": narrative, "evaluated_on": on,
            "effective_on": on}),
        ("assign_grade", {
            "command_id": f"{prefix}-grade", "subject_code": code, "grade": row.grade.value,
            "basis_kind": "evaluation", "basis_id": evaluation_id, "effective_on": on}),
    ]


_MODELS: dict[str, type[c.Command]] = {"register_unit": c.RegisterUnit,
                                       "register_subject": c.RegisterSubject,
                                       "record_evaluation": c.RecordEvaluation,
                                       "assign_grade": c.AssignGrade}
# Command field (as InvalidInput names it) -> canonical table column.
_COLUMNS = {"name": "subject", "funds": "funds", "narrative": "assessment"}
_UNIT_COLUMNS = {"name": "unit"}  # a unit's registration reads the unit column


def _validate(parsed: ParsedAnnex, row: ParsedRow, steps: Sequence[tuple[str, dict[str, Any]]],
              problems: list[TableProblem]) -> bool:
    """Check each command's fields now, so a refusal names the row and the column."""
    ok = True
    for method, data in steps:
        try:
            parse_command(_MODELS[method], data)
        except InvalidInput as exc:
            columns = _UNIT_COLUMNS if method == "register_unit" else _COLUMNS
            column = parsed.header_map.get(columns.get((exc.field or "").split(".")[0], ""))
            problems.append(TableProblem(parsed.file, row.source_row, column, "invalid-value",
                                         exc.message))
            ok = False
    return ok


def _exists(ledger: Ledger, kind: str, key: str) -> bool:
    try:
        ledger.load(stable_id(kind, key))
    except AggregateNotFoundError:
        return False
    return True


def _subject(ledger: Ledger, code: str) -> Subject | None:
    try:
        return ledger.subject(code)
    except NotFound:
        return None


def _compare(parsed: ParsedAnnex, row: ParsedRow, subject: Subject,
             steps: Sequence[tuple[str, dict[str, Any]]]) -> list[TableProblem] | None:
    """None: the ledger already says what the row says. [] : registered, not yet evaluated.

    Otherwise the first contradiction, named by row and column, since the ledger is
    only ever corrected by correct_event, never overwritten by an import.
    """
    registration, evaluation = steps[0][1], steps[1][1]
    checks = [("subject", "name", subject.name, registration["name"]),
              ("unit", "unit code", subject.unit_code, registration["unit_code"]),
              ("funds", "funds", subject.funds, registration["funds"]),
              ("subject", "kind", subject.kind, registration["kind"])]
    for column, label, ledger_value, file_value in checks:
        if ledger_value != file_value:
            return [_contradiction(parsed, row, column, label, ledger_value, file_value,
                                   subject.code)]
    if not subject.evaluations and subject.grade is None:
        return []
    narratives = {e.narrative for e in subject.evaluations.values()}
    if evaluation["narrative"].strip() not in narratives:  # the command strips it too
        return [_contradiction(parsed, row, "assessment", "评价情况", "another text",
                               "this text", subject.code)]
    grade = subject.grade.grade.value if subject.grade else None
    if grade != row.grade.value:
        return [_contradiction(parsed, row, "grade", "grade", grade, row.grade.value,
                               subject.code)]
    return None


def _contradiction(parsed: ParsedAnnex, row: ParsedRow, column: str, label: str,
                   ledger_value: object, file_value: object, code: str) -> TableProblem:
    return TableProblem(parsed.file, row.source_row, parsed.header_map.get(column),
                        "contradicts-ledger",
                        f"subject {code} is already in the ledger with {label} {ledger_value}, "
                        f"the file says {file_value}; correct the ledger (correct_event) or "
                        "the file")
