"""`jixiao import-table FILE --year YEAR --table …`: a published annex table into the ledger."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ledger.store import Database

EXIT_REFUSED = 3  # the table was refused: nothing was recorded

DESCRIPTION = """\
Import a published annex table (附件1 重点项目支出和政策 / 附件2 部门整体支出) from
.xlsx (first sheet) or .csv (UTF-8 with or without BOM, or GB18030), in the layout
序号 | 项目名称 | 实施单位/牵头单位 | 财政资金(单位:万元) | 评价情况 | 评价等级 [+ 合计].

The whole table is recorded in one transaction: units (codes derived from their
names; units already in the ledger are reused), subjects (key-projects: kind
project, or fiscal_operations when the name contains 财政运行综合绩效, flagged key;
department-overall: kind department_overall), a finance evaluation per row with
the 评价情况 text verbatim and the published grade, and the grade resting on it.
Evaluations are dated the last day of the fiscal year (YEAR-12-31), since the
tables do not date them. Any problem (unknown header, text amount, grade not
优/良/中/差, 合计 not the sum of the rows, duplicate 序号, a row contradicting the
ledger) is listed with file, row and column, and nothing is recorded (exit 3).
Importing the same file again records nothing."""

UNIT_HELP = """\
what the unit column names. implementing (the default unless the header says
主管部门): the unit that carries out the subject; registered as a street or
township when its name says so, a department when it is a 局, else "other" (the
table does not name its parent). supervising (the default when the header says
主管部门): the supervising department (主管部门) of an implementing unit the table
does not name; the subject is recorded under that department, registered as a
department (or a street/township when its name says so) at the top of its
hierarchy, so coverage counts 主管部门, not implementing units."""


def register(sub: Any) -> None:
    p = sub.add_parser("import-table", help="import a published annex table (.xlsx/.csv)",
                       description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--year", type=int, required=True, help="fiscal year of the table")
    p.add_argument("--table", required=True, choices=["key-projects", "department-overall"])
    p.add_argument("--unit-column-is", dest="unit_column_is",
                   choices=["implementing", "supervising"], help=UNIT_HELP)
    p.set_defaults(handler=cmd_import_table)

    p = sub.add_parser("import-self-evaluation",
                       help="import self-evaluation tables (项目支出绩效自评表, .xlsx)",
                       description=SELF_EVALUATION_DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", type=Path, metavar="FILE")
    p.set_defaults(handler=cmd_import_self_evaluation)


SELF_EVALUATION_DESCRIPTION = """\
Import self-evaluation tables (项目支出绩效自评表) from an .xlsx, one subject per
sheet, in the published layout: title 项目支出绩效自评表 (YYYY年度), the 项目名称
and 项目编码 rows, the 项目资金（万元） rows by source (本年财政拨款 / 上年结转 /
其他资金) under 年初预算数 | 全年预算数 | 全年执行数, and the indicator rows under
一级指标 | 二级指标 | 三级指标 | 年度指标值 | 实际完成值 | 分值 | 得分 |
偏差原因分析及改进措施. The ledger scores each table by the rule in force (the
file's 分值/得分 are not read); each becomes a submitted version awaiting the
finance bureau's review. Any problem is listed with sheet, row and column and
nothing is recorded (exit 3). Importing the same file again records nothing."""


def cmd_import_self_evaluation(args: argparse.Namespace, db: Database) -> int:
    from ledger.application import Ledger
    from ledger.importing.self_evaluation_import import import_self_evaluations
    from ledger.importing.table_reader import TableImportError
    from ledger.migrate import migrate

    migrate(db)
    ledger = Ledger(db)
    try:
        result = import_self_evaluations(ledger, args.file)
    except TableImportError as exc:
        print(f"refused, nothing imported:\n{exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        ledger.close()
    if not result.appended:
        print(f"{result.file}: every table is already in the ledger; nothing appended")
        return 0
    for code, score in zip(result.subjects, result.scores, strict=True):
        print(f"{code}: self-evaluation submitted, score {score}")
    return 0


def cmd_import_table(args: argparse.Namespace, db: Database) -> int:
    from ledger.application import Ledger
    from ledger.importing.importer import evaluated_on, import_table
    from ledger.importing.table_reader import TableImportError
    from ledger.migrate import migrate

    migrate(db)
    ledger = Ledger(db)
    supervising = None if args.unit_column_is is None else args.unit_column_is == "supervising"
    try:
        result = import_table(ledger, args.file, fiscal_year=args.year, table=args.table,
                              unit_column_is_supervising=supervising)
    except TableImportError as exc:
        print(f"refused, nothing imported:\n{exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        ledger.close()
    for note in result.notes:
        print(note)
    if not result.appended:
        print(f"{result.file} (sha256 {result.sha256[:16]}…): all {result.rows} rows are "
              f"already in the ledger; nothing appended (position {result.position_after})")
        return 0
    skipped = (f", {len(result.rows_already_recorded)} rows already recorded"
               if result.rows_already_recorded else "")
    print(f"imported {result.file} (sha256 {result.sha256[:16]}…) as {result.table} "
          f"{result.fiscal_year}: {len(result.subjects_recorded)} subjects, "
          f"{len(result.units_registered)} new units{skipped}; evaluations dated "
          f"{evaluated_on(result.fiscal_year).isoformat()}; ledger position "
          f"{result.position_before} → {result.position_after}")
    return 0
