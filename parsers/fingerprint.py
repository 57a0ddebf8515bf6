"""Fingerprints of a release: an exact hash, a MinHash signature for near-duplicates, and paragraph hashes.

Two texts are one release when their normalised texts are equal, when their character 5-gram sets are similar
(MinHash, found through LSH bands), or when most of the shorter one's long paragraphs appear word for word in
the other (a reprint that keeps only part of a release, found through an index of paragraph hashes).
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from functools import cache

import numpy as np
from datasketch import MinHash
from datasketch.minhash import _fmix

from parsers.normalize import comparison_key, paragraph_keys

NUM_PERM = 128
BANDS = 32
ROWS = NUM_PERM // BANDS
SHINGLE = 5
SEED = 20230223
# Estimated Jaccard similarity of character 5-grams above which two texts are one release.
# Calibrated on the labelled pairs in tests/data/dedup_pairs.json (see tests/parsers/test_dedup_calibration.py).
SAME_RELEASE_THRESHOLD = 0.5
# A paragraph counts for containment from this many characters of comparison key (greetings are shorter).
PARAGRAPH_MIN_CHARS = 40
# Share of the shorter text's long paragraphs (by characters) the other text must contain word for word ...
CONTAINMENT_THRESHOLD = 0.6
# ... in at least this many shared paragraphs.
MIN_SHARED_PARAGRAPHS = 2


@dataclass(frozen=True)
class Fingerprint:
    """How a release is recognised again: exact hash, MinHash signature, LSH band buckets."""

    content_hash: bytes
    signature: bytes
    buckets: tuple[int, ...]
    paragraphs: tuple[tuple[int, int], ...] = ()  # (hash, characters) of each distinct long paragraph

    @property
    def paragraph_chars(self) -> int:
        return sum(chars for _, chars in self.paragraphs)


def _crc32(data: bytes) -> int:
    return zlib.crc32(data)


def fingerprint(title: str, body: str) -> Fingerprint:
    """Fingerprint a release by its body (its title when the body is empty), after normalisation.

    The body's paragraphs are separated by newlines, as `Extraction.body` gives them.
    """
    return fingerprint_keys(title, paragraph_keys(body))


def fingerprint_keys(title: str, keys: list[str]) -> Fingerprint:
    """`fingerprint` of a release whose body's `paragraph_keys` are given."""
    key = "".join(keys) or comparison_key(title)
    content_hash = hashlib.sha256(key.encode("utf-8")).digest()
    values = minhash_values(key)
    long_paragraphs = {_hash64(k): len(k) for k in keys if len(k) >= PARAGRAPH_MIN_CHARS}
    return Fingerprint(content_hash, values.tobytes(), band_buckets(values), tuple(long_paragraphs.items()))


@cache
def _minhash_template() -> MinHash:
    return MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=_crc32)


def minhash_values(key: str) -> np.ndarray:
    """Return the MinHash signature (uint32) of a comparison key's shingles, all permutations at once.

    The values are datasketch's `MinHash(NUM_PERM, SEED, crc32).update_batch(shingles)` (its affine32 scheme),
    computed as one matrix over the shingles instead of through a MinHash object per release.
    """
    template = _minhash_template()
    hashes = _shingle_hashes(key)
    if not hashes.size:
        return template.hashvalues.astype(np.uint32)
    a, b = template.permutations
    # One row per permutation, one column per shingle: the minimum runs along contiguous memory.
    values = a[:, np.newaxis] * _fmix(hashes, 32)
    values += b[:, np.newaxis]
    return values.min(axis=1).astype(np.uint32)


def _shingle_hashes(key: str) -> np.ndarray:
    """Return the crc32 of each of `shingles(key)`'s UTF-8 bytes, repeats included (they cannot change a
    minimum): the key is encoded once and its shingles are slices of the bytes, not strings in a set."""
    if len(key) <= SHINGLE:
        return np.array([zlib.crc32(key.encode("utf-8"))] if key else [], dtype=np.uint32)
    data = key.encode("utf-8")
    if len(data) == len(key):
        offsets: list[int] | range = range(len(key) + 1)
    else:
        points = np.frombuffer(key.encode("utf-32-le"), dtype=np.uint32)
        widths = 1 + (points >= 0x80).astype(np.int64) + (points >= 0x800) + (points >= 0x10000)
        offsets = [0, *np.cumsum(widths).tolist()]
    crc32 = zlib.crc32
    return np.array(
        [crc32(data[start:end]) for start, end in zip(offsets, offsets[SHINGLE:], strict=False)],
        dtype=np.uint32,
    )


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big", signed=True)


def shingles(key: str, size: int = SHINGLE) -> set[str]:
    """Return the overlapping character n-grams of a comparison key."""
    if len(key) <= size:
        return {key} if key else set()
    return {key[i : i + size] for i in range(len(key) - size + 1)}


def band_buckets(values: np.ndarray) -> tuple[int, ...]:
    """Hash each band of the signature to a signed 64-bit bucket (a Postgres bigint)."""
    buckets = []
    for band in range(BANDS):
        chunk = values[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(chunk, digest_size=8, person=band.to_bytes(2, "big")).digest()
        buckets.append(int.from_bytes(digest, "big", signed=True))
    return tuple(buckets)


def similarity(signature_a: bytes, signature_b: bytes) -> float:
    """Estimate the Jaccard similarity of two texts from their signatures."""
    a = np.frombuffer(signature_a, dtype=np.uint32)
    b = np.frombuffer(signature_b, dtype=np.uint32)
    if a.shape != b.shape:
        raise ValueError("signatures of different lengths")
    return float(np.count_nonzero(a == b)) / len(a)


def contained(shared_paragraphs: int, shared_chars: int, chars_a: int, chars_b: int) -> bool:
    """Tell whether the shorter text's long paragraphs appear, mostly, word for word in the other."""
    shorter = min(chars_a, chars_b)
    return (
        shared_paragraphs >= MIN_SHARED_PARAGRAPHS
        and shorter > 0
        and shared_chars / shorter >= CONTAINMENT_THRESHOLD
    )


def same_release(a: Fingerprint, b: Fingerprint) -> bool:
    """Tell whether two fingerprints belong to one release."""
    if a.content_hash == b.content_hash or similarity(a.signature, b.signature) >= SAME_RELEASE_THRESHOLD:
        return True
    theirs = dict(b.paragraphs)
    shared = [chars for digest, chars in a.paragraphs if digest in theirs]
    return contained(len(shared), sum(shared), a.paragraph_chars, b.paragraph_chars)
