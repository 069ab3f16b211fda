"""The spool keeps verified changesets, many to a row, and gives them back as they came:
key statements first, each kind in arrival order, with their reveals."""

from __future__ import annotations

from pathlib import Path

from storage.changesets import Changeset, Op, changeset_id
from storage.sealing import Reveal
from sync.spool import SPOOL_BATCH, ChangesetSpool, StagedChangeset, first_key_statements


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


def test_the_spool_gives_back_key_statements_first_then_the_rest_in_arrival_order(
    tmp_path: Path,
) -> None:
    items = [_staged(n, "" if n % 7 == 0 else f"case{n % 3}") for n in range(2 * SPOOL_BATCH + 11)]
    spool = ChangesetSpool(tmp_path)
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
    finally:
        spool.close()
    assert not spool.path.exists()


def test_an_empty_spool_gives_nothing(tmp_path: Path) -> None:
    spool = ChangesetSpool(tmp_path)
    assert list(first_key_statements(spool, ["parked"])) == ["parked"]
    assert spool.case_ids() == []
    spool.close()
