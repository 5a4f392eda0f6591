"""The C2SP tlog-tiles layout: tile paths, which tiles a tree covers, and what a tile holds."""

from __future__ import annotations

import hashlib

import pytest

from ledger.errors import NotFound
from ledger.integrity.merkle import leaf_hash, root_of
from ledger.integrity.tiles import (
    Tile,
    bundle_bytes,
    check_covered,
    encode_index,
    parse_tile_path,
    tile_hashes,
)


class Leaves:
    def __init__(self, hashes: list[bytes]) -> None:
        self.hashes = hashes

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        return self.hashes[start:end]


@pytest.mark.parametrize(("index", "text"), [
    (0, "000"), (7, "007"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")])
def test_tile_indexes_are_x_prefixed_three_digit_groups(index: int, text: str) -> None:
    assert encode_index(index) == text
    assert parse_tile_path(f"0/{text}") == Tile(0, index, 256)


def test_tile_paths_parse_one_spelling_only() -> None:
    assert parse_tile_path("2/x001/234.p/7") == Tile(2, 1234, 7)
    assert parse_tile_path("entries/005.p/255") == Tile(None, 5, 255)
    assert Tile(None, 5, 255).path() == "tile/entries/005.p/255"
    assert Tile(1, 1000, 256).path() == "tile/1/x001/000"
    for bad in ("0/0", "0/0000", "00/000", "64/000", "0/x000/001", "0/000.p/0",
                "0/000.p/256", "0/000.p/07", "0/001/002", "x/000", "0", "0/000.p",
                "entries/abc", "0/-01"):
        with pytest.raises(ValueError):
            parse_tile_path(bad)


def test_only_tiles_under_the_checkpoint_are_covered() -> None:
    check_covered(Tile(0, 1, 65), 321)
    check_covered(Tile(0, 0, 256), 321)
    check_covered(Tile(0, 0, 100), 321)  # a partial tile stays servable once full
    check_covered(Tile(1, 0, 1), 321)
    for beyond in (Tile(0, 1, 66), Tile(0, 1, 256), Tile(1, 0, 2), Tile(2, 0, 1),
                   Tile(None, 2, 1)):
        with pytest.raises(NotFound):
            check_covered(beyond, 321)


def test_higher_tiles_hold_the_roots_of_the_perfect_subtrees_below() -> None:
    hashes = [leaf_hash(str(i).encode()) for i in range(256 * 3 + 5)]
    leaves, cache = Leaves(hashes), {}
    assert tile_hashes(0, 2, 256, leaves, cache) == hashes[512:768]
    assert tile_hashes(0, 3, 5, leaves, cache) == hashes[768:]
    level1 = tile_hashes(1, 0, 3, leaves, cache)
    assert level1 == [root_of(hashes[i * 256:(i + 1) * 256]) for i in range(3)]
    assert root_of(hashes[:512]) == hashlib.sha256(b"\x01" + level1[0] + level1[1]).digest()


def test_entry_bundles_prefix_each_entry_with_its_uint16_length() -> None:
    assert bundle_bytes([b"ab", b"", b"c"]) == b"\x00\x02ab\x00\x00\x00\x01c"
    with pytest.raises(ValueError):
        bundle_bytes([b"x" * 65536])
