"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs and proof verification.

Everything here is a pure function of leaf hashes, so auditors can re-run it on an
export without the database. Hashing is SHA-256 with the RFC 6962 domain separation
(0x00 for leaves, 0x01 for interior nodes), which makes the trees, proofs and roots
interchangeable with other RFC 6962 / C2SP tlog tooling.

The verifiers follow RFC 9162 §2.1.3.2 and §2.1.4.2 step by step and, on top of that,
check the exact proof length and every hash size up front. A proof with an extra,
missing or malformed element is refused outright rather than partly checked (the
class of bug behind the immudb advisory GHSA-672p-m5jq-mrh8).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, MutableMapping, Sequence
from typing import Any, Protocol

HASH_SIZE = 32
"""Size in bytes of every leaf, node and root hash (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""Root of the empty tree: SHA-256 of the empty string (RFC 6962 §2.1)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_sha256 = hashlib.sha256


class ProofError(ValueError):
    """A proof (or its parameters) does not prove what it claims to."""


class LeafSource(Protocol):
    """Anything that can hand out stored leaf hashes, e.g. a table of sealed events."""

    def leaf_hashes(self, start: int, end: int) -> Sequence[bytes]:
        """Leaf hashes for indices start <= i < end, in order."""
        ...


SubtreeCache = MutableMapping[tuple[int, int], bytes]
"""Memo of complete, aligned subtree hashes keyed by (start, end).

Such subtrees never change in an append-only log, so one cache can be shared by
every proof of every tree size.
"""


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash: SHA-256(0x00 || data)."""
    return _sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: SHA-256(0x01 || left || right)."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """Merkle tree hash (MTH) of a list of leaf hashes.

    Computed level by level, promoting a lone right-most node unchanged; this gives
    exactly the RFC 6962 split-at-largest-power-of-two tree, without recursion, at
    about one SHA-256 call per leaf.
    """
    level = list(leaf_hashes)
    if not level:
        return EMPTY_ROOT
    if any(len(h) != HASH_SIZE for h in level):
        raise ValueError(f"leaf hashes must be {HASH_SIZE} bytes each")
    sha, prefix = _sha256, _NODE_PREFIX
    while len(level) > 1:
        # zip over one iterator pairs (0, 1), (2, 3), ...; an odd last node is promoted.
        pairs = iter(level)
        upper = [sha(prefix + a + b).digest() for a, b in zip(pairs, pairs, strict=False)]
        if len(level) & 1:
            upper.append(level[-1])
        level = upper
    return level[0]


def _largest_pow2_below(n: int) -> int:
    """Largest power of two strictly smaller than n (n >= 2): RFC 6962's split point k."""
    return 1 << ((n - 1).bit_length() - 1)


def _require_hash(what: str, value: object) -> bytes:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        got = f"{len(value)} bytes" if isinstance(value, bytes) else type(value).__name__
        raise ProofError(f"{what} must be {HASH_SIZE} bytes, got {got}")
    return value


def _require_size(what: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProofError(f"{what} must be a non-negative integer, got {value!r}")
    return value


class CompactRange:
    """Append-only frontier of a growing tree: the roots of its perfect subtrees.

    Holds one hash per set bit of the size (O(log n) state), so a sealer can fold
    new leaves in one at a time, persist the state with to_json() and resume later
    without re-reading the whole log.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._hashes: list[bytes] = []

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """Perfect-subtree roots from the left (largest) to the right (smallest)."""
        return tuple(self._hashes)

    def append(self, leaf_hash: bytes) -> None:
        """Add the next leaf hash; merges equal-sized subtrees like a binary carry."""
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"leaf hash must be {HASH_SIZE} bytes, got {len(leaf_hash)}")
        hashes = self._hashes
        hashes.append(leaf_hash)
        carry = self._size
        while carry & 1:
            right = hashes.pop()
            hashes[-1] = _sha256(_NODE_PREFIX + hashes[-1] + right).digest()
            carry >>= 1
        self._size += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append several leaf hashes in order."""
        for h in leaf_hashes:
            self.append(h)

    def root(self) -> bytes:
        """Root hash of the tree of the current size (EMPTY_ROOT when empty)."""
        if not self._hashes:
            return EMPTY_ROOT
        acc = self._hashes[-1]
        for left in reversed(self._hashes[:-1]):
            acc = node_hash(left, acc)
        return acc

    def to_json(self) -> str:
        """Stable JSON text {"hashes": [hex...], "size": n} for persistence."""
        state = {"hashes": [h.hex() for h in self._hashes], "size": self._size}
        return json.dumps(state, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> CompactRange:
        """Restore from to_json() output, refusing anything inconsistent with the size."""
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"compact range state is not JSON: {exc}") from None
        if not isinstance(data, dict) or set(data) != {"hashes", "size"}:
            raise ValueError("compact range state must have exactly 'hashes' and 'size'")
        size, hexes = data["size"], data["hashes"]
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"compact range size must be a non-negative integer: {size!r}")
        if not isinstance(hexes, list) or len(hexes) != size.bit_count():
            raise ValueError(f"a tree of size {size} has {size.bit_count()} frontier hashes")
        hashes: list[bytes] = []
        for item in hexes:
            raw = bytes.fromhex(item) if isinstance(item, str) else b""
            if len(raw) != HASH_SIZE or raw.hex() != item:
                raise ValueError(f"frontier hash must be {HASH_SIZE} bytes lowercase hex")
            hashes.append(raw)
        return cls._restore(size, hashes)

    @classmethod
    def from_source(
        cls, size: int, leaves: LeafSource, cache: SubtreeCache | None = None
    ) -> CompactRange:
        """Rebuild the frontier for `size` from stored leaves (when no state was saved)."""
        _require_size("size", size)
        hashes: list[bytes] = []
        start = 0  # frontier = the perfect subtrees of the set bits of size, largest first
        for bit in reversed(range(size.bit_length())):
            if size >> bit & 1:
                hashes.append(subtree_hash(start, start + (1 << bit), leaves, cache))
                start += 1 << bit
        return cls._restore(size, hashes)

    @classmethod
    def _restore(cls, size: int, hashes: list[bytes]) -> CompactRange:
        state = cls()
        state._size, state._hashes = size, hashes
        return state

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompactRange):
            return NotImplemented
        return self._size == other._size and self._hashes == other._hashes

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, root={self.root().hex()})"


def _fetch(leaves: LeafSource, start: int, end: int) -> Sequence[bytes]:
    got = leaves.leaf_hashes(start, end)
    if len(got) != end - start:
        raise ValueError(f"leaf source returned {len(got)} hashes for [{start}, {end})")
    return got


def subtree_hash(
    start: int, end: int, leaves: LeafSource, cache: SubtreeCache | None = None
) -> bytes:
    """MTH of leaves[start:end]; complete aligned subtrees are memoized in `cache`."""
    n = end - start
    if n <= 0:
        raise ValueError(f"empty or negative leaf range [{start}, {end})")
    if cache is None:
        return root_of(_fetch(leaves, start, end))
    if n & (n - 1) == 0 and start % n == 0:
        key = (start, end)
        cached = cache.get(key)
        if cached is None:
            cached = cache[key] = root_of(_fetch(leaves, start, end))
        return cached
    k = _largest_pow2_below(n)
    return node_hash(
        subtree_hash(start, start + k, leaves, cache), subtree_hash(start + k, end, leaves, cache)
    )


def inclusion_proof(
    index: int, size: int, leaves: LeafSource, cache: SubtreeCache | None = None
) -> list[bytes]:
    """Audit path for leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1)."""
    if _require_size("leaf index", index) >= _require_size("size", size):
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _largest_pow2_below(end - start)
        if index < start + k:
            path.append(subtree_hash(start + k, end, leaves, cache))
            end = start + k
        else:
            path.append(subtree_hash(start, start + k, leaves, cache))
            start += k
    path.reverse()
    return path


def consistency_proof(
    old_size: int, new_size: int, leaves: LeafSource, cache: SubtreeCache | None = None
) -> list[bytes]:
    """Proof that the first `old_size` leaves are a prefix of the tree (RFC 9162 §2.1.4.1).

    Empty when there is nothing to prove (old_size 0 or equal sizes).
    """
    _require_size("old_size", old_size)
    _require_size("new_size", new_size)
    if old_size > new_size:
        raise ValueError(f"old size {old_size} is larger than new size {new_size}")
    if old_size in (0, new_size):
        return []
    path: list[bytes] = []
    start, end, whole_old_tree = 0, new_size, True
    while old_size - start != end - start:
        k = _largest_pow2_below(end - start)
        if old_size - start <= k:
            path.append(subtree_hash(start + k, end, leaves, cache))
            end = start + k
        else:
            path.append(subtree_hash(start, start + k, leaves, cache))
            start += k
            whole_old_tree = False
    if not whole_old_tree:
        path.append(subtree_hash(start, end, leaves, cache))
    path.reverse()
    return path


def inclusion_proof_length(index: int, size: int) -> int:
    """Exact number of hashes in the inclusion proof for `index` in a tree of `size`."""
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def consistency_proof_length(old_size: int, new_size: int) -> int:
    """Exact number of hashes in a consistency proof for 0 < old_size < new_size."""
    inner = ((old_size - 1) ^ (new_size - 1)).bit_length()
    border = ((old_size - 1) >> inner).bit_count()
    shift = (old_size & -old_size).bit_length() - 1
    seed = 0 if old_size == 1 << shift else 1
    return seed + (inner - shift) + border


def _check_path(proof: Sequence[bytes], expected: int, what: str) -> list[bytes]:
    if isinstance(proof, (bytes, bytearray, str)):
        raise ProofError("proof must be a sequence of hashes, not a single byte string")
    path = list(proof)
    if len(path) != expected:
        raise ProofError(f"{what} has {len(path)} hashes, but must have exactly {expected}")
    for i, element in enumerate(path):
        _require_hash(f"proof[{i}]", element)
    return path


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that `leaf_hash` is leaf `index` of the tree of `size` with `root`.

    RFC 9162 §2.1.3.2, plus an exact length check; raises ProofError on any failure.
    Take `size` and `root` from one verified checkpoint: a root does not encode its
    size, so a path shaped the same way under a neighbouring size also checks out.
    """
    _require_hash("leaf hash", leaf_hash)
    _require_hash("root", root)
    if _require_size("leaf index", index) >= _require_size("tree size", size):
        raise ProofError(f"leaf index {index} is not below tree size {size}")
    expected = inclusion_proof_length(index, size)
    path = _check_path(proof, expected, f"inclusion proof for leaf {index} of {size}")

    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the path to the root")
    if not hmac.compare_digest(r, root):
        raise ProofError(f"inclusion proof for leaf {index} does not lead to the given root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree (old_size, old_root) is a prefix of (new_size, new_root).

    RFC 9162 §2.1.4.2, plus an exact length check and explicit rules for the cases
    the RFC leaves out: equal sizes need an empty proof and equal roots; an old size
    of 0 needs an empty proof and old_root == EMPTY_ROOT. Raises ProofError.
    """
    _require_hash("old root", old_root)
    _require_hash("new root", new_root)
    _require_size("old size", old_size)
    _require_size("new size", new_size)
    if old_size > new_size:
        raise ProofError(f"old size {old_size} is larger than new size {new_size}")
    if old_size == 0 or old_size == new_size:
        _check_path(proof, 0, f"consistency proof from {old_size} to {new_size}")
        if old_size == 0 and not hmac.compare_digest(old_root, EMPTY_ROOT):
            raise ProofError("old root of an empty tree must be SHA-256 of the empty string")
        if old_size == new_size and not hmac.compare_digest(old_root, new_root):
            raise ProofError(f"trees of equal size {new_size} have different roots")
        return
    expected = consistency_proof_length(old_size, new_size)
    path = _check_path(proof, expected, f"consistency proof from {old_size} to {new_size}")

    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the path to the root")
    if not hmac.compare_digest(fr, old_root):
        raise ProofError(f"consistency proof does not reproduce the old root (size {old_size})")
    if not hmac.compare_digest(sr, new_root):
        raise ProofError(f"consistency proof does not reproduce the new root (size {new_size})")
