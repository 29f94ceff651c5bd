"""Identifiers are version 7 UUIDs: distinct across buffer refills and threads, and in time order."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from app.domain.ids import new_id, storable


def test_ids_are_distinct_version_7_uuids() -> None:
    with ThreadPoolExecutor(4) as pool:
        ids = [i for chunk in pool.map(lambda _: [new_id() for _ in range(1000)], range(4)) for i in chunk]
    assert len(set(ids)) == len(ids) == 4000
    parsed = [uuid.UUID(i) for i in ids]
    assert {u.version for u in parsed} == {7} and {u.variant for u in parsed} == {uuid.RFC_4122}
    assert all(str(u) == i for u, i in zip(parsed, ids, strict=True))


def test_ids_carry_their_millisecond_and_sort_by_it() -> None:
    """The first 48 bits are the Unix time in milliseconds; an id made in a later millisecond sorts after."""
    before = time.time_ns() // 1_000_000
    first = new_id()
    time.sleep(0.002)
    second = new_id()
    after = time.time_ns() // 1_000_000
    stamps = [uuid.UUID(i).int >> 80 for i in (first, second)]
    assert before <= stamps[0] < stamps[1] <= after
    assert first < second


def test_the_random_bits_vary_within_a_millisecond() -> None:
    """Below the time and version bits, ids of one millisecond differ in both random fields (12, 62 bits)."""
    ids = [uuid.UUID(new_id()).int for _ in range(200)]
    assert len({i >> 64 & 0xFFF for i in ids}) > 50
    assert {i >> 64 & 1 for i in ids} == {0, 1}  # rand_a starts right above the variant's 64 bits
    assert len({i & (1 << 62) - 1 for i in ids}) == 200


def test_an_identifier_holding_nul_is_not_storable() -> None:
    assert storable(new_id()) and storable("any text")
    assert not storable("a\x00b") and not storable("\x00")
