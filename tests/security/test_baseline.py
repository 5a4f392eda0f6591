"""The fixture every attack test builds on: the published sample answers its totals."""

from __future__ import annotations

from tests.security.conftest import Served, assert_public_annex_intact


def test_the_published_annex_totals_answer_anonymously(served: Served) -> None:
    assert_public_annex_intact(served.url)
