"""The spool keeps verified changesets, many to a row, and gives them back as they came:
key statements first, each kind in arrival order, with their reveals."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from storage.changesets import Changeset, Op, changeset_id
from storage.sealing import Reveal
from sync.spool import (
    SPOOL_BATCH,
    ChangesetSpool,
    StagedChangeset,
    first_key_statements,
    held_cost,
)


def _staged(number: int, case_id: str) -> StagedChangeset:
    reveals = {(0, "text"): Reveal(bytes([number % 256]) * 16, f"value {number} é")}
    cs = Changeset(
        origin="0" * 64,
        epoch=0,
        seq=number + 1,
        prev_hash="",
        hlc=f"{number:015d}.000000",
        author="Office «Nord»",
        case_id=case_id,
        ops=(
            Op(
                "note" if case_id else "trust",
                f"id{number}",
                "create",
                {"case_id": case_id} if case_id else {},
                {},
                {"text": "ab" * 32} if case_id and number % 3 == 0 else {},
            ),
        ),
    )
    body = cs.encode()
    return StagedChangeset(
        changeset_id(body),
        cs,
        body,
        bytes([number % 256]) * 64,
        "" if number % 2 else "cd" * 32,
        reveals if case_id and number % 3 == 0 else {},
    )


def _as_tuple(item: StagedChangeset) -> tuple[object, ...]:
    return (item.cs_id, item.changeset, item.body, item.sig, item.case_prev, item.reveals)


# All on disk; the first 40 in memory and the rest on disk; all in memory.
@pytest.mark.parametrize("held", ["none", "some", "all"])
def test_the_spool_gives_back_key_statements_first_then_the_rest_in_arrival_order(
    tmp_path: Path, held: str
) -> None:
    items = [_staged(n, "" if n % 7 == 0 else f"case{n % 3}") for n in range(2 * SPOOL_BATCH + 11)]
    budget = {"none": 0, "some": sum(held_cost(i.body) for i in items[:40]), "all": 1 << 30}[held]
    spool = ChangesetSpool(tmp_path, held_bytes=budget)
    try:
        for item in items:
            spool.add(item)
        assert spool.count == len(items)
        expected = [i for i in items if not i.changeset.case_id] + [
            i for i in items if i.changeset.case_id
        ]
        assert [_as_tuple(i) for i in first_key_statements(spool, [])] == [
            _as_tuple(i) for i in expected
        ]
        assert spool.case_ids() == ["case0", "case1", "case2"]
        # Read twice (the courier check walks it before the apply does): the same.
        again = [_as_tuple(i) for i in spool.items(key_statements=False)]
        assert again == [_as_tuple(i) for i in items if i.changeset.case_id]
        assert spool.path.exists() == (held != "all")  # a scratch database only when needed
    finally:
        spool.close()
    assert not spool.path.exists()


def test_an_empty_spool_gives_nothing(tmp_path: Path) -> None:
    spool = ChangesetSpool(tmp_path)
    assert list(first_key_statements(spool, ["parked"])) == ["parked"]
    assert spool.case_ids() == []
    spool.close()


def test_a_changeset_larger_than_what_is_left_of_the_budget_sends_every_later_one_to_disk(
    tmp_path: Path,
) -> None:
    """Order is kept: once one went to disk, a smaller later one does not stay in memory."""
    small, large, later = _staged(1, "case"), _staged(2, "case"), _staged(3, "case")
    large.body += b" " * 1000  # only its size matters to the budget
    spool = ChangesetSpool(tmp_path, held_bytes=held_cost(small.body) + held_cost(later.body) + 10)
    try:
        for item in (small, large, later):
            spool.add(item)
        assert [i.cs_id for i in spool.items(key_statements=False)] == [
            small.cs_id,
            large.cs_id,
            later.cs_id,
        ]
        assert spool.path.exists()
    finally:
        spool.close()


def test_garbage_collection_waits_while_changesets_are_held_and_resumes_after(
    tmp_path: Path,
) -> None:
    """Held changesets would make every full collection visit them (1.3 s of staging
    100,000): collection waits while they are held, and resumes on close, or when a
    spool is dropped without being closed."""
    assert gc.isenabled()
    first, second = ChangesetSpool(tmp_path), ChangesetSpool(tmp_path)
    first.add(_staged(1, "case"))
    second.add(_staged(2, "case"))
    assert not gc.isenabled()
    first.close()
    assert not gc.isenabled()  # the other still holds its changesets
    del second
    assert gc.isenabled()
    on_disk = ChangesetSpool(tmp_path, held_bytes=0)
    on_disk.add(_staged(3, "case"))
    assert gc.isenabled()  # nothing held: nothing to wait for
    on_disk.close()
