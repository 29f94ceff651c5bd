"""Identifiers are random version 4 UUIDs, unique across buffer refills and threads."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from app.domain.ids import new_id


def test_ids_are_distinct_version_4_uuids() -> None:
    with ThreadPoolExecutor(4) as pool:
        ids = [i for chunk in pool.map(lambda _: [new_id() for _ in range(1000)], range(4)) for i in chunk]
    assert len(set(ids)) == len(ids) == 4000
    parsed = [uuid.UUID(i) for i in ids]
    assert {u.version for u in parsed} == {4} and {u.variant for u in parsed} == {uuid.RFC_4122}
    assert all(str(u) == i for u, i in zip(parsed, ids, strict=True))
