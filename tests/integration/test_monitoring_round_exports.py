"""`jixiao export-round`: the sample's monitoring round as xlsx and PDF, read back with
openpyxl and pdftotext, carrying its provenance like the annex exports."""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from jixiao.cli import main
from ledger.application import Ledger
from ledger.migrate import migrate
from ledger.sample import monitoring as sample_round
from ledger.sample.loader import load_sample
from ledger.store import Database
from tests.unit.test_exports import require_poppler

pytestmark = pytest.mark.slow  # a sample load and a PDF rendering


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('round')}/ledger.db"
    db = Database.from_url(url)
    migrate(db)
    app = Ledger(db)
    try:
        load_sample(app)
    finally:
        app.close()
    return url


def export(url: str, fmt: str, out: Path, *extra: str) -> None:
    assert main(["--database", url, "export-round", "--round", sample_round.ROUND_ID,
                 "--format", fmt, "--out", str(out), *extra]) == 0


def test_the_round_as_xlsx(sample_db: str, tmp_path: Path) -> None:
    out = tmp_path / "round.xlsx"
    export(sample_db, "xlsx", out)
    ws = load_workbook(out).active
    assert ws is not None
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0][0] == "2022年1-8月绩效运行监控汇总表"
    assert ["序号", "项目名称", "实施单位", "财政资金(万元)", "报送状态"] in [r[:5] for r in values]
    body = [r for r in values[1:] if isinstance(r[0], int)]
    assert len(body) == 16
    statuses = [r[4] for r in body]
    assert (statuses.count("已报送"), statuses.count("逾期报送"), statuses.count("未报送")) == (
        13, 1, 2)
    [total] = [r for r in values if r[0] == "合计"]
    assert Decimal(str(total[6])) == Decimal("29152.89")
    assert any("调整预算" in str(r[10]) for r in body)
    text = "\n".join(str(cell) for r in values for cell in r if cell)
    assert "跟踪监控项目14个，监控资金29152.89万元" in text
    assert "未报送2个" in text
    assert "数据截至账本位置" in text  # the provenance, as under the annex tables


def test_the_round_as_pdf_as_of_an_earlier_position(sample_db: str, tmp_path: Path) -> None:
    require_poppler()
    out = tmp_path / "round.pdf"
    export(sample_db, "pdf", out)
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert "2022年1-8月绩效运行监控汇总表" in text
    assert "未报送" in text and "逾期报送" in text
    assert "29152.89" in text and "数据截至账本位置" in text
    # Before the round was opened there is nothing to export: refused, not an empty file.
    assert main(["--database", sample_db, "export-round", "--round", sample_round.ROUND_ID,
                 "--format", "pdf", "--out", str(tmp_path / "early.pdf"),
                 "--position", "1"]) == 2


def test_the_round_as_csv_carries_the_signed_checkpoint_note(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every export command's CSV sidecar holds the signed note itself (it went missing for
    the round export once: its command wrote the sidecar without it)."""
    import json

    from ledger.integrity.checkpoint import init_key_file
    from ledger.integrity.service import checkpoint_now, load_key

    monkeypatch.setenv("JIXIAO_KEY_FILE", str(tmp_path / "signing.key"))
    init_key_file(tmp_path / "signing.key", "jixiao.test/round")
    url = f"sqlite:///{tmp_path}/ledger.db"
    db = Database.from_url(url)
    migrate(db)
    app = Ledger(db)
    try:
        load_sample(app)
        info = checkpoint_now(db, app, load_key(db))
    finally:
        app.close()
    export(url, "csv", tmp_path / "round.csv")
    sidecar = json.loads((tmp_path / "round.csv.provenance.json").read_text())
    assert sidecar["checkpoint_note"] == info.note
