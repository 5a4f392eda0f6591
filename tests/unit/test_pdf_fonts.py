"""The CJK font kept per process and the common-character cut give the same PDF bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
from fontTools import ttLib  # type: ignore[import-untyped]

from projections.exports import pdf_fonts
from projections.exports.pdf_export import build_pdf, find_cjk_font
from projections.exports.report import report_from_annex
from tests.unit.test_exports import PROVENANCE, seed_table


@pytest.mark.slow
def test_cut_font_and_kept_metrics_give_the_same_bytes(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    font = find_cjk_font()
    monkeypatch.setenv("JIXIAO_CJK_FONT", f"{font.path}#{font.index}")  # one face, one cut
    monkeypatch.setattr(pdf_fonts, "_common", {})
    report = report_from_annex(seed_table("department_overall"), PROVENANCE)
    first = build_pdf(report)
    full = bytes(first.output())
    template = pdf_fonts.parsed(font.path, font.index)
    assert len(template.subset.get_all_glyph_names()) <= 2  # documents never touch it

    used = {code for document_font in first.fonts.values()
            for glyph, _ in document_font.subset.items() if glyph is not None
            for code in glyph.unicode}
    cut = pdf_fonts.prepare_common(font.path, font.index, keep=used.__contains__,
                                   directory=tmp_path)
    second = build_pdf(report)
    assert bytes(second.output()) == full
    assert {f._path for f in second.fonts.values()} == {cut}  # the cut served both styles
    if first.fonts[next(iter(first.fonts))].is_cid_keyed:  # only the CFF table is embedded
        assert set(ttLib.TTFont(cut, lazy=True).keys()) <= pdf_fonts.CFF_CUT_TABLES | {
            "GlyphOrder"}
