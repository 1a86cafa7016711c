"""The Merkle tree against RFC 6962's published test vectors (Certificate Transparency's reference
data), and every proof of every shape against roots computed the slow way."""

from __future__ import annotations

import hashlib
import random

import pytest

from desk_audit.merkle import Frontier, Tree, leaf_hash, node_hash, root_of, verify_consistency, verify_inclusion

INPUTS = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                     "606162636465666768696a6b6c6d6e6f")]
ROOTS = ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
         "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
         "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
         "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
         "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
         "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
         "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
         "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]
INCLUSION = [(0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
             (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
             (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"])]
CONSISTENCY = [(1, 1, []),
               (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                       "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                       "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
               (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                       "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                       "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
               (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                       "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"])]
LEAVES = [leaf_hash(i) for i in INPUTS]


def slow_root(leaves: list[bytes]) -> bytes:
    """RFC 9162's definition, literally."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(slow_root(leaves[:k]), slow_root(leaves[k:]))


def test_roots_of_the_reference_vectors() -> None:
    frontier = Frontier()
    assert frontier.root().hex() == ROOTS[0]
    for size in range(1, 9):
        frontier.append(LEAVES[size - 1])
        assert Tree(LEAVES[:size]).root().hex() == ROOTS[size]
        assert frontier.root().hex() == ROOTS[size] and frontier.well_formed()


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_proofs_of_the_reference_vectors(index: int, size: int, path: list[str]) -> None:
    proof = Tree(LEAVES).inclusion_proof(index, size)
    assert [p.hex() for p in proof] == path
    assert verify_inclusion(LEAVES[index], index, size, proof, bytes.fromhex(ROOTS[size]))
    assert not verify_inclusion(LEAVES[index], index, size, proof, bytes.fromhex(ROOTS[size - 1]))


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY)
def test_consistency_proofs_of_the_reference_vectors(old: int, new: int, path: list[str]) -> None:
    proof = Tree(LEAVES).consistency_proof(old, new)
    assert [p.hex() for p in proof] == path
    assert verify_consistency(old, new, bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new]), proof)


def test_every_proof_of_every_shape() -> None:
    rng = random.Random(20)
    leaves = [leaf_hash(rng.randbytes(rng.randint(0, 40))) for _ in range(70)]
    tree = Tree(leaves)
    roots = {n: slow_root(leaves[:n]) for n in range(71)}
    frontier = Frontier()
    for size in range(1, 71):
        frontier.append(leaves[size - 1])
        assert tree.root(size) == roots[size] == frontier.root() == root_of(leaves[:size])
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            assert verify_inclusion(leaves[index], index, size, proof, roots[size])
            assert not verify_inclusion(leaves[(index + 1) % 70], index, size, proof, roots[size]) or size == 1
        for old in range(1, size + 1):
            proof = tree.consistency_proof(old, size)
            assert verify_consistency(old, size, roots[old], roots[size], proof)
            if old < size:  # a changed past is not consistent with the same future
                forged = slow_root([leaf_hash(b"x"), *leaves[1:old]])
                assert not verify_consistency(old, size, forged, roots[size], proof)


def test_a_frontier_continues_from_a_copy() -> None:
    leaves = [leaf_hash(bytes([n])) for n in range(37)]
    start = Frontier()
    start.extend(leaves[:21])
    resumed = Frontier(start.size, list(start.nodes))
    resumed.extend(leaves[21:])
    assert resumed.root() == slow_root(leaves)
