"""A subject's self-evaluation table exported to xlsx and PDF as of a moment, with the
provenance of every export and the rule version that scored it; read back with openpyxl and
pdftotext."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from ledger.application import Ledger
from ledger.store import Database
from projections.exports.coverage_report import checkpoint_status, resolve_moment, write_export
from projections.exports.self_evaluation_report import self_evaluation_report
from projections.views import ReadModel
from tests.integration.helpers import do, max_position
from tests.integration.test_import_export import require_poppler, run
from tests.unit.test_self_evaluation_table import UNIT, subject, submit


@pytest.fixture
def read(ledger: Ledger, database: Database) -> Iterator[ReadModel]:
    model = ReadModel(database, ledger)
    yield model
    model.close()


def export(read: ReadModel, fmt: str, out: Path, position: int | None = None) -> Path:
    moment = resolve_moment(read, position=position)
    status = checkpoint_status(read, moment)
    found = read.subject(moment, "S9")
    assert found is not None
    write_export(self_evaluation_report(found, status.provenance), fmt, out,  # type: ignore[arg-type]
                 status.note)
    return out


def cells(path: Path) -> list[str]:
    sheet = load_workbook(path).active
    return [str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None]


@pytest.mark.slow
def test_the_table_as_of_each_version(ledger: Ledger, read: ReadModel, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIXIAO_KEY_FILE", str(tmp_path / "no-such.key"))
    subject(ledger)
    submit(ledger, UNIT)
    do(ledger, "review_self_evaluation", subject_code="S9", version=1, decision="return",
       reasons=["建成数量与验收记录不符"])
    returned_at = max_position(ledger)
    submit(ledger, UNIT, built="50", cost="90", band="达成")
    do(ledger, "review_self_evaluation", subject_code="S9", version=2, decision="accept")
    head = max_position(ledger)

    early = cells(export(read, "xlsx", tmp_path / "v1.xlsx", returned_at))
    assert "项目支出绩效自评表 (2022年度)" in early and "第1版" in early and "已退回" in early
    assert "建成数量与验收记录不符" in early and "86.4" in early and "7.2" in early
    assert f"数据截至账本位置 {returned_at} (ledger position)" in early
    assert "两处选址调整，顺延至次年" in early and "部分达成" in early and "v1" in early

    now = cells(export(read, "xlsx", tmp_path / "v2.xlsx"))
    assert "第2版" in now and "已审核通过" in now and "100" in now
    assert f"数据截至账本位置 {head} (ledger position)" in now

    require_poppler()
    text = run("pdftotext", "-layout", str(export(read, "pdf", tmp_path / "v2.pdf")), "-")
    assert "项目支出绩效自评表" in text and "已审核通过" in text and "100.00" in text
    assert "本年财政拨款" in text and f"数据截至账本位置 {head}" in text


@pytest.mark.slow  # runs the CLI in processes
def test_cli_import_refusal_then_import_then_export(ledger: Ledger, database: Database,
                                                    tmp_path: Path) -> None:
    from tests.integration.test_import_export import jixiao
    from tests.unit.test_self_evaluation_import import INDICATOR_ROWS, sheet_rows, workbook

    subject(ledger)
    bad = [list(r) for r in INDICATOR_ROWS]
    bad[3][4] = "基本达成"
    refused = jixiao(database, "import-self-evaluation",
                     str(workbook(tmp_path / "bad.xlsx", sheet_rows(indicators=bad))))
    assert refused.returncode == 3, refused.stderr
    assert "bad.xlsx [自评表1], row 15, column F: [invalid-band]" in refused.stderr
    done = jixiao(database, "import-self-evaluation",
                  str(workbook(tmp_path / "good.xlsx", sheet_rows())))
    assert done.returncode == 0, done.stderr
    assert "S9: self-evaluation submitted, score 86.40" in done.stdout
    out = tmp_path / "S9.xlsx"
    exported = jixiao(database, "export-self-evaluation", "S9", "--format", "xlsx", "--out",
                      str(out))
    assert exported.returncode == 0, exported.stderr
    assert "待审核" in cells(out) and "86.4" in cells(out)
