"""Fingerprints of a release: an exact hash of its normalised text and a MinHash signature for near-duplicates."""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash

from parsers.normalize import comparison_key

NUM_PERM = 128
BANDS = 32
ROWS = NUM_PERM // BANDS
SHINGLE = 5
SEED = 20230223
# Estimated Jaccard similarity of character 5-grams above which two texts are one release.
# Calibrated on the labelled pairs in tests/data/dedup_pairs.json (see tests/parsers/test_dedup_calibration.py).
SAME_RELEASE_THRESHOLD = 0.5


@dataclass(frozen=True)
class Fingerprint:
    """How a release is recognised again: exact hash, MinHash signature, LSH band buckets."""

    content_hash: bytes
    signature: bytes
    buckets: tuple[int, ...]


def _crc32(data: bytes) -> int:
    return zlib.crc32(data)


def fingerprint(title: str, body: str) -> Fingerprint:
    """Fingerprint a release by its body (its title when the body is empty), after normalisation."""
    key = comparison_key(body) or comparison_key(title)
    content_hash = hashlib.sha256(key.encode("utf-8")).digest()
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=_crc32)
    minhash.update_batch([s.encode("utf-8") for s in shingles(key)])
    values = minhash.hashvalues.astype(np.uint32)
    return Fingerprint(content_hash, values.tobytes(), band_buckets(values))


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


def same_release(signature_a: bytes, signature_b: bytes, threshold: float = SAME_RELEASE_THRESHOLD) -> bool:
    """Tell whether two signatures belong to one release."""
    return similarity(signature_a, signature_b) >= threshold
