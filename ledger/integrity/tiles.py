"""The sealed log in the C2SP tlog-tiles layout, so standard transparency-log clients can audit it.

A tile is 256 hashes wide. The tile at level L, index N holds, for i < W, the hash of the
perfect subtree of 256**L leaves starting at leaf (N*256 + i) * 256**L; level 0 holds the leaf
hashes themselves. A partial tile (W < 256) is the first W hashes of the tile that is not full
yet. Entry bundles hold the entries themselves (here the canonical record bytes whose RFC 6962
leaf hash is the leaf), each prefixed by its length as a big-endian uint16.

Only what a signed checkpoint covers is served: a tile or bundle beyond the latest checkpoint's
tree size is `NotFound`, so every hash here can be checked against a signed root.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ledger.application import Ledger
from ledger.errors import NotFound
from ledger.integrity.merkle import LeafSource, SubtreeCache, leaf_hash, root_of
from ledger.integrity.sealer import record_bytes
from ledger.integrity.service import StoredLeaves, get_checkpoint, subtree_cache
from ledger.store import Database, fetchall

TILE_WIDTH = 256
MAX_LEVEL = 63
MAX_ENTRY_BYTES = 0xFFFF  # an entry's length is a big-endian uint16
_LEVEL = re.compile(r"0|[1-9][0-9]?")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")
_GROUP = re.compile(r"[0-9]{3}")


class StoreChanged(RuntimeError):
    """The event store no longer matches the sealed leaves; `jixiao verify` names where."""


@dataclass(frozen=True)
class Tile:
    """One tile: `level` (None for an entry bundle), `index` and `width` (256 when full)."""

    level: int | None
    index: int
    width: int

    @property
    def full(self) -> bool:
        return self.width == TILE_WIDTH

    def path(self) -> str:
        """The tile's path, e.g. ``tile/0/x001/234`` or ``tile/entries/000.p/7``."""
        level = "entries" if self.level is None else str(self.level)
        suffix = "" if self.full else f".p/{self.width}"
        return f"tile/{level}/{encode_index(self.index)}{suffix}"


def encode_index(index: int) -> str:
    """N as zero-padded 3-digit groups, all but the last prefixed by x: 1234067 -> x001/x234/067."""
    groups = []
    while True:
        groups.append(f"{index % 1000:03d}")
        index //= 1000
        if index == 0:
            break
    groups.reverse()
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def parse_tile_path(path: str) -> Tile:
    """Parse what follows ``tile/``: ``<L>/<N>[.p/<W>]`` or ``entries/<N>[.p/<W>]``.

    Strict: one spelling per tile (no leading zeros in L or W, no empty x-groups beyond the
    encoding's own), so a cache keyed on the URL never holds one tile twice. ValueError
    otherwise.
    """
    parts = path.split("/")
    width = TILE_WIDTH
    if len(parts) >= 2 and parts[-2].endswith(".p"):
        if not _WIDTH.fullmatch(parts[-1]) or int(parts[-1]) >= TILE_WIDTH:
            raise ValueError("a partial tile's width is 1..255, without leading zeros")
        width = int(parts[-1])
        parts = [*parts[:-2], parts[-2][:-2]]
    if len(parts) < 2:
        raise ValueError("a tile path is <level>/<index>[.p/<width>]")
    head, groups = parts[0], parts[1:]
    level: int | None
    if head == "entries":
        level = None
    elif _LEVEL.fullmatch(head) and int(head) <= MAX_LEVEL:
        level = int(head)
    else:
        raise ValueError(f"a tile level is 0..{MAX_LEVEL} or 'entries'")
    if not all(g.startswith("x") and _GROUP.fullmatch(g[1:]) for g in groups[:-1]) or \
            not _GROUP.fullmatch(groups[-1]):
        raise ValueError("a tile index is 3-digit groups, all but the last prefixed by x")
    index = int("".join(g.removeprefix("x") for g in groups))
    if encode_index(index) != "/".join(groups):
        raise ValueError("a tile index has no leading zero groups")
    return Tile(level, index, width)


def hashes_at(level: int, size: int) -> int:
    """How many complete level-`level` hashes (subtrees of 256**level leaves) a tree has."""
    return size >> (8 * level)


def check_covered(tile: Tile, size: int) -> None:
    """NotFound unless the tree of `size` leaves holds the tile at its width.

    A partial tile stays servable after the tile fills up: it is a prefix of the full one,
    and a client checking an older checkpoint asks for exactly that width.
    """
    available = hashes_at(tile.level or 0, size) - tile.index * TILE_WIDTH
    if available < tile.width:
        raise NotFound("tile", tile.path(), field="tile")


def tile_hashes(level: int, index: int, width: int, leaves: LeafSource,
                cache: SubtreeCache) -> list[bytes]:
    """The `width` hashes of tile (level, index), built from the tiles below it.

    Level-L hash j is the root of the 256 hashes of level L-1 tile j: a perfect subtree, so
    it is memoized in the same cache the proofs use, under the same (start, end) key.
    """
    first = index * TILE_WIDTH
    if level == 0:
        got = list(leaves.leaf_hashes(first, first + width))
        if len(got) != width:
            raise StoreChanged(f"leaves {first}..{first + width - 1} are missing")
        return got
    span = TILE_WIDTH ** level
    out = []
    for j in range(first, first + width):
        key = (j * span, (j + 1) * span)
        found = cache.get(key)
        if found is None:
            found = cache[key] = root_of(tile_hashes(level - 1, j, TILE_WIDTH, leaves, cache))
        out.append(found)
    return out


def hash_tile(db: Database, tile: Tile) -> bytes:
    """The tile's bytes: its hashes concatenated, as covered by the latest checkpoint."""
    if tile.level is None:
        raise ValueError("an entry bundle is not a hash tile")
    checkpoint = get_checkpoint(db)
    check_covered(tile, checkpoint.size)
    conn = db.connect()
    try:
        return b"".join(tile_hashes(tile.level, tile.index, tile.width,
                                    StoredLeaves(db, conn), subtree_cache(db)))
    finally:
        conn.close()


def bundle_bytes(entries: Sequence[bytes]) -> bytes:
    """Entries, each after its length as a big-endian uint16."""
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY_BYTES:
            raise ValueError(f"an entry of {len(entry)} bytes does not fit a tlog-tiles bundle")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def entry_bundle(db: Database, ledger: Ledger, tile: Tile) -> bytes:
    """The entries of bundle `tile`: each sealed record's canonical bytes, checked against
    its sealed leaf hash first, so a store changed behind the log is refused, not served."""
    if tile.level is not None:
        raise ValueError("a hash tile is not an entry bundle")
    checkpoint = get_checkpoint(db)
    check_covered(tile, checkpoint.size)
    first = tile.index * TILE_WIDTH
    conn = db.connect()
    try:
        sealed = [(int(p), bytes(h)) for p, h in fetchall(
            db, conn, "SELECT position, leaf_hash FROM integrity_leaves WHERE leaf_index >= ? "
            "AND leaf_index < ? ORDER BY leaf_index", (first, first + tile.width))]
    finally:
        conn.close()
    if len(sealed) != tile.width:
        raise StoreChanged(f"sealed leaves {first}..{first + tile.width - 1} are missing")
    wanted = dict(sealed)
    notes = ledger.recorder.select_notifications(
        start=sealed[0][0], limit=sealed[-1][0] - sealed[0][0] + 1, stop=sealed[-1][0])
    records = {int(n.id): record_bytes(ledger, n) for n in notes if int(n.id) in wanted}
    entries = []
    for position, digest in sealed:
        record = records.get(position)
        if record is None or leaf_hash(record) != digest:
            raise StoreChanged(f"position {position}: the event store no longer matches the "
                               "sealed log; run `jixiao verify`")
        entries.append(record)
    return bundle_bytes(entries)
