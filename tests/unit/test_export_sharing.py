"""The workers of one server share rendered downloads (schema.export_pool, `shared`): a file
one worker rendered is served by another without rendering it again, and only for its key."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from schema.export_pool import Export, ExportKey, ExportPool, RenderOn

KEY = ExportKey(year=2022, table="key-projects", format="pdf", position=321,
                checkpoint="none", note="", scope="*", views=0)
EXPORT = Export(body=b"%PDF-1.4 \xe7\xbb\xa9\xe6\x95\x88\n...", media_type="application/pdf",
                ascii_name="a.pdf", utf8_name="附件1.pdf", position=321,
                recorded_at=datetime(2022, 9, 30, 10, tzinfo=UTC), checkpoint="none")


async def produce(render_on: RenderOn) -> Export:
    return replace(EXPORT, body=await render_on(lambda: EXPORT.body))


async def refuse(render_on: RenderOn) -> Export:
    raise AssertionError("rendered again")


def test_a_render_in_one_worker_is_served_by_another(tmp_path: Path) -> None:
    first, second = ExportPool(shared=tmp_path), ExportPool(shared=tmp_path)
    try:
        assert asyncio.run(first.get(KEY, produce)) == EXPORT
        first.lane(KEY).executor.submit(lambda: None).result()  # its file is written
        assert asyncio.run(second.get(KEY, refuse)) == EXPORT
        assert (first.renders, second.renders) == (1, 0)
        other = replace(KEY, scope='[["public"], [], []]')  # another caller's view
        assert asyncio.run(second.get(other, produce)) == EXPORT and second.renders == 1
    finally:
        first.close()
        second.close()


def test_without_a_shared_directory_each_pool_renders(tmp_path: Path) -> None:
    first, second = ExportPool(), ExportPool()
    try:
        asyncio.run(first.get(KEY, produce))
        asyncio.run(second.get(KEY, produce))
        assert (first.renders, second.renders) == (1, 1)
        assert not list(tmp_path.iterdir())
    finally:
        first.close()
        second.close()
