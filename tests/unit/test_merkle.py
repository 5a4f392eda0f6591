"""RFC 6962 / RFC 9162 Merkle hashing, proofs and verification."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import pytest

from ledger.integrity.merkle import (
    EMPTY_ROOT,
    CompactRange,
    ProofError,
    SubtreeCache,
    consistency_proof,
    consistency_proof_length,
    inclusion_proof,
    inclusion_proof_length,
    leaf_hash,
    node_hash,
    root_of,
    subtree_hash,
    verify_consistency,
    verify_inclusion,
)

h = bytes.fromhex

# Test vectors copied from transparency-dev/merkle (Apache-2.0):
#   testonly/constants.go  -- LeafInputs(), NodeHashes(), RootHashes(), CompactTrees()
#   proof/verify_test.go   -- inclusionProofs, consistencyProofs (leaf numbers 1-based there)
# They are the RFC 6962 reference values of google/certificate-transparency.
LEAF_INPUTS = [
    h(""),
    h("00"),
    h("10"),
    h("2021"),
    h("3031"),
    h("40414243"),
    h("5051525354555657"),
    h("606162636465666768696a6b6c6d6e6f"),
]
NODE_HASHES = [
    [
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
        h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
        h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
        h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
    ],
    [
        h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
    ],
    [
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ],
    [h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")],
]
ROOTS = [  # index = tree size
    h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]
N0, N1, N2, N3 = NODE_HASHES
COMPACT_TREES = [  # CompactTrees(): frontier hashes for every size 0..8
    [],
    [N0[0]],
    [N1[0]],
    [N1[0], N0[2]],
    [N2[0]],
    [N2[0], N0[4]],
    [N2[0], N1[2]],
    [N2[0], N1[2], N0[6]],
    [N3[0]],
]
INCLUSION_PROOFS = [  # (0-based index, size, proof)
    (0, 8, [N0[1], N1[1], N2[1]]),
    (5, 8, [N0[4], N1[3], N2[0]]),
    (2, 3, [N1[0]]),
    (1, 5, [N0[0], N1[1], N0[4]]),
]
CONSISTENCY_PROOFS = [  # (old size, new size, proof)
    (1, 8, [N0[1], N1[1], N2[1]]),
    (6, 8, [N1[2], N1[3], N2[0]]),
    (2, 5, [N1[1], N0[4]]),
    (6, 7, [N1[2], N0[6], N2[0]]),
]

MAX = 70
HASHES = [leaf_hash(b"entry %d" % i) for i in range(MAX)]
GOOD_ROOTS = [root_of(HASHES[:n]) for n in range(MAX + 1)]


class ListSource:
    """LeafSource over an in-memory list that records how many leaves were read."""

    def __init__(self, hashes: Sequence[bytes]) -> None:
        self.hashes = list(hashes)
        self.reads = 0

    def leaf_hashes(self, start: int, end: int) -> Sequence[bytes]:
        self.reads += max(0, end - start)
        return self.hashes[start:end]


SOURCE = ListSource(HASHES)
VECTOR_SOURCE = ListSource([leaf_hash(d) for d in LEAF_INPUTS])


# Straight transcriptions of the recursive RFC 9162 §2.1 definitions, as an
# independent reference for the iterative code.
def ref_mth(d: Sequence[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return node_hash(ref_mth(d[:k]), ref_mth(d[k:]))


def ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = 1 << ((len(d) - 1).bit_length() - 1)
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [ref_mth(d)]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def flipped(proof: list[bytes], i: int, byte: int) -> list[bytes]:
    out = list(proof)
    out[i] = out[i][:byte] + bytes([out[i][byte] ^ 0x01]) + out[i][byte + 1 :]
    return out


# ------------------------------------------------------------------ known vectors


def test_leaf_and_node_hashes_match_vectors() -> None:
    assert [leaf_hash(d) for d in LEAF_INPUTS] == N0
    assert [node_hash(N0[2 * i], N0[2 * i + 1]) for i in range(4)] == N1
    assert EMPTY_ROOT == ROOTS[0] == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("size", range(9))
def test_root_of_every_size_matches_vectors(size: int) -> None:
    assert root_of(N0[:size]) == ROOTS[size]


@pytest.mark.parametrize("size", range(9))
def test_compact_range_matches_vectors(size: int) -> None:
    cr = CompactRange()
    cr.extend(N0[:size])
    assert cr.size == size
    assert list(cr.hashes) == COMPACT_TREES[size]
    assert cr.root() == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_PROOFS)
def test_known_inclusion_proofs(index: int, size: int, proof: list[bytes]) -> None:
    assert inclusion_proof(index, size, VECTOR_SOURCE) == proof
    verify_inclusion(N0[index], index, size, proof, ROOTS[size])


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_PROOFS)
def test_known_consistency_proofs(old: int, new: int, proof: list[bytes]) -> None:
    assert consistency_proof(old, new, VECTOR_SOURCE) == proof
    verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)


def test_trivial_known_proofs_are_empty() -> None:
    assert inclusion_proof(0, 1, VECTOR_SOURCE) == []
    verify_inclusion(N0[0], 0, 1, [], ROOTS[1])
    assert consistency_proof(1, 1, VECTOR_SOURCE) == []
    verify_consistency(1, 1, ROOTS[1], ROOTS[1], [])


# ------------------------------------------------------- generated, exhaustive


def test_root_of_agrees_with_rfc_definition_and_compact_range() -> None:
    cr = CompactRange()
    for n in range(MAX + 1):
        assert GOOD_ROOTS[n] == ref_mth(HASHES[:n]) == cr.root()
        if n < MAX:
            cr.append(HASHES[n])


def test_every_inclusion_proof_verifies() -> None:
    for size in range(1, MAX + 1):
        for index in range(size):
            proof = inclusion_proof(index, size, SOURCE)
            assert proof == ref_path(index, HASHES[:size])
            assert len(proof) == inclusion_proof_length(index, size)
            verify_inclusion(HASHES[index], index, size, proof, GOOD_ROOTS[size])


def test_every_consistency_proof_verifies() -> None:
    for new in range(0, MAX + 1):
        for old in range(0, new + 1):
            proof = consistency_proof(old, new, SOURCE)
            if 0 < old < new:
                assert proof == ref_subproof(old, HASHES[:new], True)
                assert len(proof) == consistency_proof_length(old, new)
            else:
                assert proof == []
            verify_consistency(old, new, GOOD_ROOTS[old], GOOD_ROOTS[new], proof)


@pytest.mark.slow
def test_mutated_inclusion_proofs_fail() -> None:
    for size in range(1, MAX + 1):
        for index in range(size):
            proof = inclusion_proof(index, size, SOURCE)
            leaf, root = HASHES[index], GOOD_ROOTS[size]
            bad: list[tuple[bytes, int, int, list[bytes], bytes]] = []
            # every byte of every element for small trees, a spread of bytes above
            for i in range(len(proof)):
                positions = range(32) if size <= 12 else {(index + 7 * i) % 32, 0, 31}
                bad += [(leaf, index, size, flipped(proof, i, b), root) for b in positions]
            for other in (index - 1, index + 1, index ^ 2):
                if other != index and 0 <= other < size:
                    bad.append((leaf, other, size, proof, root))
            for other_size in (size - 1, size + 1, size * 2, size // 2):
                if other_size != size and 0 <= other_size <= MAX:
                    bad.append((leaf, index, other_size, proof, GOOD_ROOTS[other_size]))
            bad += [
                (leaf, index, size, proof, GOOD_ROOTS[size - 1]),
                (leaf, index, size, [*proof, root], root),  # trailing element
                (leaf, index, size, [*proof, proof[-1]] if proof else [leaf], root),
                (leaf, index, size, [root, *proof], root),  # preceding element
                (HASHES[(index + 1) % MAX], index, size, proof, root),  # wrong leaf
            ]
            if proof:
                bad += [
                    (leaf, index, size, proof[:-1], root),  # truncated
                    (leaf, index, size, proof[1:], root),
                    (leaf, index, size, [], root),  # empty where one is needed
                    (leaf, index, size, proof[::-1], root) if len(proof) > 1 else bad[0],
                ]
            for args in bad:
                with pytest.raises(ProofError):
                    verify_inclusion(*args)


@pytest.mark.slow
def test_mutated_consistency_proofs_fail() -> None:
    for new in range(1, MAX + 1):
        for old in range(0, new + 1):
            proof = consistency_proof(old, new, SOURCE)
            r1, r2 = GOOD_ROOTS[old], GOOD_ROOTS[new]
            bad: list[tuple[int, int, bytes, bytes, list[bytes]]] = []
            for i in range(len(proof)):
                positions = range(32) if new <= 12 else {(old + 5 * i) % 32, 0, 31}
                bad += [(old, new, r1, r2, flipped(proof, i, b)) for b in positions]
            for o, n in ((old - 1, new), (old + 1, new), (old, new - 1), (old, new + 1)):
                in_range = 0 <= o <= n <= MAX and (o, n) != (old, new)
                if in_range and proof != consistency_proof(o, n, SOURCE):  # else it is valid
                    bad.append((o, n, GOOD_ROOTS[o], GOOD_ROOTS[n], proof))
            other = GOOD_ROOTS[(new + 1) % (MAX + 1)]
            bad += [
                (old, new, r1, r2, [*proof, r2]),  # trailing element
                (old, new, r1, r2, [r1, *proof]),  # preceding element
                (new, old, r2, r1, proof) if old != new else (old, new, r1, r1, [r1]),
            ]
            if old != 0:  # from the empty tree there is no new root to check
                bad.append((old, new, r1, other, proof))  # wrong new root
                bad.append((old, new, GOOD_ROOTS[old - 1], r2, proof))  # wrong old root
            if proof:
                bad += [
                    (old, new, r1, r2, proof[:-1]),  # truncated
                    (old, new, r1, r2, proof[1:]),
                    (old, new, r1, r2, []),  # empty where one is needed
                    (old, new, r1, r2, [proof[0], *proof]),
                ]
            for args in bad:
                with pytest.raises(ProofError):
                    verify_consistency(*args)


# -------------------------------------------------- edge cases (GHSA-672p-m5jq-mrh8)


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 0), (1, 1), (2, 1), (-1, 3), (5, 5)])
def test_inclusion_index_outside_tree_fails(index: int, size: int) -> None:
    for root in (EMPTY_ROOT, HASHES[0], GOOD_ROOTS[max(size, 0)] if size >= 0 else EMPTY_ROOT):
        with pytest.raises(ProofError):
            verify_inclusion(HASHES[0], index, size, [], root)


def test_inclusion_single_leaf_tree() -> None:
    verify_inclusion(HASHES[0], 0, 1, [], HASHES[0])
    for leaf, root, proof in [
        (HASHES[1], HASHES[0], []),
        (HASHES[0], HASHES[1], []),
        (HASHES[0], HASHES[0], [HASHES[0]]),  # extra element for a proof that needs none
        (HASHES[0], HASHES[0], [b""]),
    ]:
        with pytest.raises(ProofError):
            verify_inclusion(leaf, 0, 1, proof, root)


def test_consistency_edge_cases() -> None:
    r = GOOD_ROOTS
    # always-consistent sizes need an empty proof and the right roots
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(0, 5, EMPTY_ROOT, r[5], [])
    verify_consistency(5, 5, r[5], r[5], [])
    for args in [
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]),  # proof must be empty
        (0, 0, r[1], r[1], []),  # an empty tree has exactly one root
        (0, 5, r[3], r[5], []),
        (0, 5, EMPTY_ROOT, r[5], [EMPTY_ROOT]),
        (1, 1, r[1], r[1], [r[1]]),
        (1, 1, r[1], r[2], []),  # same size, different roots
        (1, 0, r[1], EMPTY_ROOT, []),  # time travel
        (2, 1, r[2], r[1], []),
        (1, 2, r[1], r[2], []),  # empty proof where one is needed
        (-1, 2, r[1], r[2], []),
    ]:
        with pytest.raises(ProofError):
            verify_consistency(*args)


def test_malformed_inputs_are_proof_errors() -> None:
    proof = inclusion_proof(3, 10, SOURCE)
    root = GOOD_ROOTS[10]
    for args in [
        (HASHES[3][:31], 3, 10, proof, root),
        (HASHES[3], 3, 10, proof, root + b"\x00"),
        (HASHES[3], 3, 10, [*proof[:-1], proof[-1][:31]], root),
        (HASHES[3], True, 10, proof, root),
        (HASHES[3], 3, 10, b"".join(proof), root),
        (HASHES[3], 3, 10, [p.hex() for p in proof], root),
    ]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)  # type: ignore[arg-type]
    with pytest.raises(ProofError):
        joined = b"".join(consistency_proof(3, 10, SOURCE))
        verify_consistency(3, 10, GOOD_ROOTS[3], root, joined)  # type: ignore[arg-type]
    with pytest.raises(ProofError):
        verify_consistency(3, 10, GOOD_ROOTS[3][:16], root, consistency_proof(3, 10, SOURCE))


def test_proof_generation_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError):
        inclusion_proof(5, 5, SOURCE)
    with pytest.raises(ValueError):
        inclusion_proof(-1, 5, SOURCE)
    with pytest.raises(ValueError):
        consistency_proof(6, 5, SOURCE)
    short = ListSource(HASHES[:10])
    with pytest.raises(ValueError, match="returned"):
        inclusion_proof(0, 20, short)


# ---------------------------------------------------------------- cache, frontier


def test_subtree_cache_is_reused_and_gives_same_proofs() -> None:
    source = ListSource(HASHES)
    cache: SubtreeCache = {}
    first = [inclusion_proof(i, MAX, source, cache) for i in range(MAX)]
    reads = source.reads
    again = [inclusion_proof(i, MAX, source, cache) for i in range(MAX)]
    assert first == again == [inclusion_proof(i, MAX, SOURCE) for i in range(MAX)]
    assert source.reads - reads < reads // 4
    assert all(end - start & (end - start - 1) == 0 for start, end in cache)
    assert all(start % (end - start) == 0 for start, end in cache)
    assert subtree_hash(0, 64, source, cache) == root_of(HASHES[:64])
    for old in range(1, MAX):
        assert consistency_proof(old, MAX, source, cache) == consistency_proof(old, MAX, SOURCE)


def test_compact_range_persists_and_resumes() -> None:
    cr = CompactRange()
    for i, leaf in enumerate(HASHES):
        cr.append(leaf)
        if i % 9 == 0:
            text = cr.to_json()
            cr = CompactRange.from_json(text)
            assert cr.to_json() == text
        assert cr.root() == GOOD_ROOTS[i + 1]
    assert cr == CompactRange.from_source(MAX, SOURCE)
    assert cr.hashes == CompactRange.from_source(MAX, SOURCE, {}).hashes
    assert CompactRange.from_json(CompactRange().to_json()).root() == EMPTY_ROOT
    assert repr(cr) == f"CompactRange(size={MAX}, root={GOOD_ROOTS[MAX].hex()})"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        '{"size": 3, "hashes": []}',
        json.dumps({"size": True, "hashes": [HASHES[0].hex()]}),
        '{"size": -1, "hashes": []}',
        json.dumps({"size": 1, "hashes": [HASHES[0].hex().upper()]}),
        json.dumps({"size": 1, "hashes": [HASHES[0].hex()[:-2]]}),
        json.dumps({"size": 1, "hashes": ["zz" * 32]}),
        '{"size": 1, "hashes": [7]}',
        json.dumps({"size": 1, "hashes": [HASHES[0].hex()], "root": ""}),
    ],
)
def test_compact_range_refuses_bad_state(text: str) -> None:
    with pytest.raises(ValueError):
        CompactRange.from_json(text)


def test_compact_range_refuses_non_hash() -> None:
    with pytest.raises(ValueError):
        CompactRange().append(b"not a hash")
    with pytest.raises(ValueError):
        root_of([b"short"])


def test_large_tree_matches_compact_range() -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(100_003)]
    cr = CompactRange()
    cr.extend(leaves)
    assert root_of(leaves) == cr.root()
    proof = inclusion_proof(77_777, len(leaves), ListSource(leaves), {})
    verify_inclusion(leaves[77_777], 77_777, len(leaves), proof, cr.root())
