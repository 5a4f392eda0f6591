"""`jixiao export …` and `jixiao disclose …`: tables and disclosure packages as files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.cli import parse_time
from ledger.runtime import Actor
from ledger.store import Database

EXIT_REFUSED = 2  # the request cannot be served (bad table/format/position, empty package)
EXIT_FAILED = 1  # it could be, but writing failed (e.g. no CJK font for the PDF)
CLI_ACTOR = Actor(id="cli-disclose", role="finance_bureau")

if TYPE_CHECKING:
    from projections.values import Moment, SubjectDetail
    from projections.views import ReadModel

ExportBody = Callable[["ReadModel"], list[str]]


def run_export(db: Database, body: ExportBody,
               refusals: tuple[type[Exception], ...] = ()) -> int:
    """Run one export against the read side and answer as every export command does: the
    lines saying what was written, or why not (EXIT_REFUSED / EXIT_FAILED)."""
    from ledger.application import Ledger
    from ledger.migrate import migrate
    from projections.exports.coverage_report import ExportRefused
    from projections.exports.pdf_export import CjkFontNotFoundError
    from projections.views import ReadModel

    migrate(db)
    ledger = Ledger(db)
    read = ReadModel(db, ledger)
    refused: tuple[type[Exception], ...] = (ExportRefused, *refusals)
    try:
        lines = body(read)
    except refused as exc:
        print(f"export refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except CjkFontNotFoundError as exc:
        print(f"export failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        read.close()
        ledger.close()
    for line in lines:
        print(line)
    return 0


def subject_at(read: ReadModel, moment: Moment, code: str) -> SubjectDetail:
    from projections.exports.coverage_report import ExportRefused

    found = read.subject(moment, code)
    if found is None:
        raise ExportRefused(f"no subject {code!r} at position {moment.position}", "subject")
    return found

EXPORT_DESCRIPTION = """\
Export a table of a fiscal year as it stood at a moment (default: now).
key-projects / department-overall are the annex tables (附件1 / 附件2) with their
合计; coverage is the year's coverage figures, one labelled row each; review is the
spot-check re-review results (复评结果); results-ledger is the 结果应用台账 of the
year's results: each consequence (basis → rule → effect → amount), the totals, and
the next year's requests against the amounts arranged. Coverage, review and
results-ledger have no money column per subject, so they are not offered as fdp.
Every file states its provenance: the ledger position it was made at, and the latest
signed checkpoint covering that position, or that there is none: in the footer (pdf,
xlsx), the descriptor (fdp, a directory) or the sidecar OUT.provenance.json (csv). The
same state always gives the same bytes. In every CSV (csv, the fdp's data, disclosure
packages) a text cell starting with = + - @, tab or CR gets a leading apostrophe, so
that no spreadsheet runs it as a formula; amounts are numbers, and the ledger and the
xlsx keep the text as it was (import-table takes the apostrophe off again)."""

DISCLOSE_DESCRIPTION = """\
Build a disclosure package in DIR (new or empty) and record the disclosure.
peoples-congress: the goals of YEAR's key subjects (with the budget draft), and the
results ledger of YEAR-1 (what last year's results did to this budget) when it has rows;
standing-committee: YEAR's key evaluation results (附件1 and 附件2);
public: the annex tables and the key goals. Each table is written as xlsx, pdf and
csv, and manifest.json lists every file with its SHA-256; the ledger records the
SHA-256 of manifest.json, the position the package shows and its subjects. With a
signing key (JIXIAO_KEY_FILE, or the database's key in the per-user data directory) a
checkpoint is signed just before and cited; without one, the package says so."""


def register(sub: Any) -> None:
    p = sub.add_parser("export", help="export a table of a year (annexes, coverage, review, "
                       "results ledger)",
                       description=EXPORT_DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--year", type=int, required=True, help="fiscal year")
    p.add_argument("--table", required=True,
                   choices=["key-projects", "department-overall", "coverage", "review",
                            "results-ledger"])
    p.add_argument("--format", dest="fmt", required=True, choices=["xlsx", "csv", "pdf", "fdp"])
    p.add_argument("--out", type=Path, required=True, metavar="PATH",
                   help="file to write (a directory for fdp)")
    moment = p.add_mutually_exclusive_group()
    moment.add_argument("--as-of", type=parse_time, metavar="ISO-TIME",
                        help="as the ledger stood at this recorded time (with timezone)")
    moment.add_argument("--position", type=int, metavar="N", help="as of ledger position N")
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("export-goal-table", help="export one subject's goal table (绩效目标表)",
                       description="Export one subject's goal table (绩效目标表) in the "
                       "standard layout as it stood at a moment (default: now), with the "
                       "same provenance as the annex exports.")
    p.add_argument("--subject", required=True, metavar="CODE", help="the subject's code")
    p.add_argument("--format", dest="fmt", required=True, choices=["xlsx", "pdf"])
    p.add_argument("--out", type=Path, required=True, metavar="PATH", help="file to write")
    moment = p.add_mutually_exclusive_group()
    moment.add_argument("--as-of", type=parse_time, metavar="ISO-TIME",
                        help="as the ledger stood at this recorded time (with timezone)")
    moment.add_argument("--position", type=int, metavar="N", help="as of ledger position N")
    p.set_defaults(handler=cmd_export_goal_table)

    p = sub.add_parser("export-self-evaluation",
                       help="export a subject's self-evaluation table (xlsx or pdf)",
                       description=SELF_EVALUATION_DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("subject", metavar="CODE", help="the subject's code")
    p.add_argument("--format", dest="fmt", required=True, choices=["xlsx", "pdf"])
    p.add_argument("--out", type=Path, required=True, metavar="PATH")
    p.add_argument("--version", type=int, metavar="N",
                   help="the self-evaluation version (default: the latest submitted)")
    moment = p.add_mutually_exclusive_group()
    moment.add_argument("--as-of", type=parse_time, metavar="ISO-TIME",
                        help="as the ledger stood at this recorded time (with timezone)")
    moment.add_argument("--position", type=int, metavar="N", help="as of ledger position N")
    p.set_defaults(handler=cmd_export_self_evaluation)

    p = sub.add_parser("disclose", help="build and record a disclosure package",
                       description=DISCLOSE_DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--year", type=int, required=True, help="fiscal year")
    p.add_argument("--audience", required=True,
                   choices=["peoples-congress", "standing-committee", "public"])
    p.add_argument("--out", type=Path, required=True, metavar="DIR")
    p.set_defaults(handler=cmd_disclose)


def cmd_export(args: argparse.Namespace, db: Database) -> int:
    def body(read: ReadModel) -> list[str]:
        from projections.exports.coverage_report import (
            check_request,
            checkpoint_status,
            resolve_moment,
            table_report,
            write_export,
        )

        table, fmt = check_request(args.table, args.fmt)
        moment = resolve_moment(read, position=args.position, as_of=args.as_of)
        status = checkpoint_status(read, moment)
        report = table_report(read, args.year, table, moment, status.provenance)
        written = write_export(report, fmt, args.out, status.note, status.signed)
        when = f" (recorded {moment.recorded_at.isoformat()})" if moment.recorded_at else ""
        return [f"wrote {', '.join(str(p) for p in written)}: {report.title}, "
                f"{len(report.rows)} rows", f"ledger position {moment.position}{when}",
                status.note]
    return run_export(db, body)


def cmd_export_goal_table(args: argparse.Namespace, db: Database) -> int:
    def body(read: ReadModel) -> list[str]:
        from projections.exports.coverage_report import checkpoint_status, resolve_moment
        from projections.exports.goal_table import goal_table_report, write_goal_table

        moment = resolve_moment(read, position=args.position, as_of=args.as_of)
        found = subject_at(read, moment, args.subject)
        status = checkpoint_status(read, moment)
        report = goal_table_report(found, status.provenance)
        write_goal_table(report, args.fmt, args.out)
        return [f"wrote {args.out}: {report.title} {args.subject}, {len(report.rows)} "
                "indicators", f"ledger position {moment.position}", status.note]
    return run_export(db, body)


SELF_EVALUATION_DESCRIPTION = """\
Export a subject's self-evaluation table (项目支出绩效自评表) as it stood at a
moment (default: now): one version (default: the latest submitted, whatever its
review), with its status, the budget rows by source, every indicator's 年度指标值,
实际完成值, 分值, 得分 and 偏差原因, the totals by level 1 and the score, and the
rule version that scored it; with the provenance of every export."""


def cmd_export_self_evaluation(args: argparse.Namespace, db: Database) -> int:
    from projections.exports.self_evaluation_report import NoSelfEvaluation

    def body(read: ReadModel) -> list[str]:
        from projections.exports.coverage_report import (
            checkpoint_status,
            resolve_moment,
            write_export,
        )
        from projections.exports.self_evaluation_report import self_evaluation_report

        moment = resolve_moment(read, position=args.position, as_of=args.as_of)
        found = subject_at(read, moment, args.subject)
        status = checkpoint_status(read, moment)
        report = self_evaluation_report(found, status.provenance, args.version)
        write_export(report, args.fmt, args.out, status.note, status.signed)
        return [f"wrote {args.out}: {report.title}, {found.summary.code} ({report.name}); "
                f"ledger position {moment.position}", status.note]
    return run_export(db, body, refusals=(NoSelfEvaluation,))


def cmd_disclose(args: argparse.Namespace, db: Database) -> int:
    from ledger.application import Ledger
    from ledger.errors import DomainError
    from ledger.migrate import migrate
    from projections.exports.coverage_report import ExportRefused
    from projections.exports.disclosure import disclose
    from projections.exports.pdf_export import CjkFontNotFoundError
    from projections.views import ReadModel

    migrate(db)
    ledger = Ledger(db)
    read = ReadModel(db, ledger)
    try:
        result = disclose(read, fiscal_year=args.year, audience=args.audience, out=args.out,
                          actor=CLI_ACTOR)
    except ExportRefused as exc:
        print(f"disclosure refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except (CjkFontNotFoundError, DomainError) as exc:
        print(f"disclosure failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        read.close()
        ledger.close()
    print(f"{result.title}: {len(result.files)} files in {result.directory}")
    for name in result.files:
        print(f"  {name}")
    print(f"{len(result.subject_codes)} subjects; content sha256 {result.content_hash} "
          f"(manifest.json) at ledger position {result.content_position}")
    print(f"recorded as disclosure {result.disclosure_id} at position "
          f"{result.recorded_position}")
    print(result.checkpoint_note)
    return 0
