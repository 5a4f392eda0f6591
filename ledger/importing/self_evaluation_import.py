"""Import self-evaluation tables (项目支出绩效自评表) from an .xlsx in the published layout.

One subject per sheet: the title 项目支出绩效自评表 (YYYY年度) in the first rows, the
项目名称 and 项目编码 rows, the 项目资金（万元） block with the 年初预算数 / 全年预算数 /
全年执行数 header and a row per source (其中：本年财政拨款, 上年结转, 其他资金; the
年度资金总额 row must be their sum), and the indicator block with the header 一级指标 /
二级指标 / 三级指标 / 年度指标值 / 实际完成值 / 分值 / 得分 / 偏差原因分析及改进措施, up to the
总分 row. 分值, 执行率 and 得分 in the file are not read: the ledger scores the table by
the rule in force. A qualitative indicator's 实际完成值 is its band (达成 / 部分达成 / 未达成).

All or nothing: every sheet is read and checked against the ledger first, every problem is
named with its sheet, row and column, and only a file without problems is recorded, in one
batch. Command ids come from the file's SHA-256, so importing it again records nothing.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ledger.application import Ledger
from ledger.domain.subject import Subject
from ledger.errors import DomainError, InvalidInput, NotFound
from ledger.importing import limits
from ledger.importing.cells import CellError, cell_text, column_letter, parse_amount
from ledger.importing.table_reader import TableImportError, TableProblem
from ledger.rules import QUALITATIVE_BANDS
from ledger.runtime import Actor
from ledger.scoring import FUND_SOURCES, fraction

IMPORT_ACTOR = Actor(id="import-self-evaluation", role="system")
TITLE = re.compile(r"项目支出绩效自评表\s*[(（]?\s*(\d{4})\s*年度")
SOURCE_LABELS = {"本年财政拨款": "本年财政拨款", "当年财政拨款": "本年财政拨款",
                 "上年结转": "上年结转", "其他资金": "其他资金"}
TOTAL_LABELS = ("年度资金总额", "合计")
BUDGET_HEADERS = {"年初预算数": "initial_budget", "全年预算数": "full_year_budget",
                  "全年执行数": "executed"}
INDICATOR_HEADERS = {"一级指标": "level1", "二级指标": "level2", "三级指标": "name",
                     "年度指标值": "target", "实际完成值": "actual"}
REASON_HEADER = "偏差原因"  # 偏差原因分析及改进措施, however the sheet words the rest


def plain(value: Any) -> str:
    return "".join(unicodedata.normalize("NFKC", cell_text(value)).split())


@dataclass
class _Sheet:
    file: str
    rows: list[tuple[int, list[Any]]]
    problems: list[TableProblem] = field(default_factory=list)

    def problem(self, row: int | None, column: int | None, rule: str, message: str) -> None:
        self.problems.append(TableProblem(self.file, row, None if column is None
                                          else column_letter(column), rule, message))


@dataclass(frozen=True)
class SelfEvaluationImport:
    file: str
    sha256: str
    subjects: tuple[str, ...]
    scores: tuple[str, ...]
    appended: bool


def import_self_evaluations(ledger: Ledger, path: Path,
                            actor: Actor = IMPORT_ACTOR) -> SelfEvaluationImport:
    """Record every sheet's table, or raise TableImportError and record nothing."""
    sheets = _read_workbook(path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    calls: list[tuple[str, dict[str, Any]]] = []
    problems: list[TableProblem] = []
    seen: dict[str, str] = {}
    for index, sheet in enumerate(sheets, start=1):
        data = _table(ledger, sheet)
        if data is not None and data["subject_code"] in seen:
            sheet.problem(None, None, "duplicate-subject", f"subject {data['subject_code']} "
                          f"is already in sheet {seen[data['subject_code']]}")
        if sheet.problems or data is None:
            problems.extend(sheet.problems)
            continue
        seen[data["subject_code"]] = sheet.file
        calls.append(("submit_self_evaluation",
                      {"command_id": f"selfeval-{sha[:24]}-s{index}", **data}))
    if problems or not calls:
        raise TableImportError(problems or [TableProblem(path.name, None, None, "empty-file",
                                                         "no self-evaluation table found")])
    before = int(ledger.recorder.max_notification_id() or 0)
    try:
        results = ledger.execute_batch(calls, actor)
    except DomainError as exc:
        raise TableImportError([TableProblem(path.name, None, None, "ledger-refused",
                                             f"the ledger refused the tables: {exc}")]) from exc
    return SelfEvaluationImport(
        file=path.name, sha256=sha, subjects=tuple(d["subject_code"] for _, d in calls),
        scores=tuple(r.ids.get("score", "") for r in results),
        appended=int(ledger.recorder.max_notification_id() or 0) != before)


def _read_workbook(path: Path) -> list[_Sheet]:
    """Every sheet's rows within the limits of ledger.importing.limits."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    if path.suffix.lower() != ".xlsx":
        raise TableImportError([TableProblem(path.name, None, None, "unsupported-format",
                                             "a self-evaluation table is read from .xlsx")])
    try:
        limits.check_file(path)
        limits.check_xlsx(path)
        workbook = load_workbook(path, read_only=True, data_only=True)
        try:
            sheets = []
            for ws in workbook.worksheets:
                ws.reset_dimensions()
                rows = limits.bounded_rows(ws.iter_rows(
                    max_row=limits.MAX_SHEET_ROWS + 1, max_col=limits.MAX_COLUMNS + 1,
                    values_only=True))
                if rows:
                    sheets.append(_Sheet(f"{path.name} [{ws.title}]", rows))
            return sheets
        finally:
            workbook.close()
    except limits.TooLarge as e:
        raise TableImportError([TableProblem(path.name, e.row, e.column, e.rule,
                                             e.message)]) from None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, InvalidFileException) as e:
        raise TableImportError([TableProblem(path.name, None, None, "unreadable-file",
                                             f"cannot read it: {e}")]) from e


def _find(rows: Sequence[tuple[int, list[Any]]], wanted: Sequence[str]) -> int | None:
    """The index of the first row holding every wanted header."""
    for i, (_, values) in enumerate(rows):
        texts = {plain(v) for v in values}
        if all(w in texts for w in wanted):
            return i
    return None


def _columns(values: Sequence[Any], headers: dict[str, str]) -> dict[str, int]:
    found = {}
    for col, value in enumerate(values):
        text = plain(value)
        if text in headers:
            found[headers[text]] = col
        elif text.startswith(REASON_HEADER):
            found["deviation_reason"] = col
    return found


def _right_of(values: Sequence[Any], col: int) -> tuple[str, int]:
    for other in range(col + 1, len(values)):
        if cell_text(values[other]).strip():
            return cell_text(values[other]).strip(), other
    return "", col + 1


def _table(ledger: Ledger, sheet: _Sheet) -> dict[str, Any] | None:
    """The submit_self_evaluation fields a sheet states, or None with its problems noted."""
    rows = sheet.rows
    heading = "".join(plain(v) for _, values in rows[:2] for v in values)
    title = TITLE.search(heading)
    if title is None:
        sheet.problem(rows[0][0], 0, "missing-title", "the sheet's title is not "
                      "项目支出绩效自评表 (YYYY年度)")
        return None
    facts: dict[str, tuple[str, int, int]] = {}
    for number, values in rows[:20]:
        for col, value in enumerate(values):
            label = plain(value)
            if label in ("项目名称", "项目编码", "项目代码") and label not in facts:
                text, where = _right_of(values, col)
                facts["项目编码" if label == "项目代码" else label] = (text, number, where)
    subject = _subject(ledger, sheet, facts, int(title.group(1)), rows[0][0])
    budget = _budget(sheet)
    results = _indicators(ledger, sheet, subject)
    if subject is None or budget is None or results is None or sheet.problems:
        return None
    return {"subject_code": subject.code, "budget_lines": budget,
            "indicator_results": results}


def _subject(ledger: Ledger, sheet: _Sheet, facts: dict[str, tuple[str, int, int]],
             year: int, title_row: int) -> Subject | None:
    if "项目编码" not in facts or not facts["项目编码"][0]:
        sheet.problem(None, None, "missing-subject-code", "no 项目编码 row names the subject")
        return None
    code, row, col = facts["项目编码"]
    try:
        subject = ledger.subject(code)
    except (NotFound, DomainError):
        sheet.problem(row, col, "unknown-subject", f"no subject {code!r} in the ledger")
        return None
    if subject.fiscal_year != year:
        sheet.problem(title_row, 0, "year-mismatch", f"the title names {year}; subject "
                      f"{code} is of fiscal year {subject.fiscal_year}")
    name = facts.get("项目名称")
    if name is not None and plain(name[0]) != plain(subject.name):
        sheet.problem(name[1], name[2], "contradicts-ledger", f"项目名称 {name[0]!r} is not "
                      f"subject {code}'s name {subject.name!r}")
    if subject.goal_status != "approved":
        sheet.problem(row, col, "goals-not-approved", f"subject {code}'s goals are "
                      f"{subject.goal_status}; a self-evaluation follows approved goals")
    return subject


def _budget(sheet: _Sheet) -> list[dict[str, str]] | None:
    start = _find(sheet.rows, tuple(BUDGET_HEADERS))
    if start is None:
        sheet.problem(None, None, "missing-budget-header", "no row holds 年初预算数, "
                      "全年预算数 and 全年执行数")
        return None
    columns = _columns(sheet.rows[start][1], BUDGET_HEADERS)
    first = min(columns.values())
    lines: list[dict[str, str]] = []
    total: tuple[int, dict[str, Decimal]] | None = None
    for number, values in sheet.rows[start + 1:]:
        label = "".join(plain(v) for v in values[:first])
        source = next((s for key, s in SOURCE_LABELS.items() if key in label), None)
        is_total = any(t in label for t in TOTAL_LABELS)
        if source is None and not is_total:
            break
        cells = [values[c] if c < len(values) else None for c in columns.values()]
        if source is not None and all(not cell_text(v).strip() for v in cells):
            continue  # a source the subject has no money from
        amounts: dict[str, Decimal] = {}
        for name, col in columns.items():
            try:
                amounts[name] = parse_amount(values[col] if col < len(values) else None)
            except CellError as exc:
                sheet.problem(number, col, exc.rule, exc.message)
        if len(amounts) != len(columns):
            continue
        if is_total:
            total = (number, amounts)
        else:
            assert source is not None
            lines.append({"source": source, **{k: str(v) for k, v in amounts.items()}})
    if not lines:
        sheet.problem(start + 1, first, "missing-budget-rows", "no 项目资金 row by source "
                      f"({' / '.join(FUND_SOURCES)})")
        return None
    if total is not None:
        for name, col in columns.items():
            summed = sum((Decimal(line[name]) for line in lines), Decimal("0.00"))
            if summed != total[1][name]:
                sheet.problem(total[0], col, "total-mismatch", f"年度资金总额 {total[1][name]} "
                              f"is not the sum of the sources ({summed})")
    return lines


def _indicators(ledger: Ledger, sheet: _Sheet,
                subject: Subject | None) -> list[dict[str, Any]] | None:
    start = _find(sheet.rows, ("三级指标", "年度指标值", "实际完成值"))
    if start is None:
        sheet.problem(None, None, "missing-indicator-header", "no row holds 三级指标, "
                      "年度指标值 and 实际完成值")
        return None
    columns = _columns(sheet.rows[start][1], INDICATOR_HEADERS)
    goals = {} if subject is None else {g.name: g for g in subject.indicators}
    rule = None if subject is None else ledger.rules_for(subject, None).self_evaluation
    results: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, values in sheet.rows[start + 1:]:
        first = plain(values[0]) if values else ""
        if first.startswith(("总分", "合计")):
            break

        def cell(name: str, values: list[Any] = values) -> str:
            col = columns.get(name)
            return "" if col is None or col >= len(values) else cell_text(values[col]).strip()

        name = cell("name")
        if not name:
            continue
        where = columns["name"]
        goal = goals.get(name)
        if subject is not None and goal is None:
            sheet.problem(number, where, "unknown-indicator", f"{name!r} is not an approved "
                          f"indicator of subject {subject.code}")
            continue
        if name in seen:
            sheet.problem(number, where, "duplicate-indicator", f"{name!r} appears twice")
            continue
        seen.add(name)
        actual = cell("actual")
        result: dict[str, Any] = {"name": name, "deviation_reason": cell("deviation_reason")}
        if goal is not None and goal.comparator == "qualitative":
            if plain(actual) not in QUALITATIVE_BANDS:
                sheet.problem(number, columns["actual"], "invalid-band", f"实际完成值 "
                              f"{actual!r} of a qualitative indicator is not one of "
                              f"{' / '.join(QUALITATIVE_BANDS)}")
                continue
            result["band"] = plain(actual)
        else:
            result["actual"] = actual
        if goal is not None and rule is not None:
            try:
                fraction(goal, result, rule)
            except InvalidInput as exc:
                sheet.problem(number, columns["actual"], "invalid-value", exc.message)
                continue
        results.append(result)
    missing = sorted(set(goals) - seen)
    if missing:
        sheet.problem(None, None, "missing-indicator", "no row for the approved "
                      f"indicators: {', '.join(missing)}")
    return results
