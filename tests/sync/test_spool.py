"""The spool keeps verified changesets, many to a row, and gives them back as they came:
key statements first, each kind in arrival order, with their reveals."""

from __future__ import annotations

import gc
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from storage import canonical, cases, evidence
from storage.blobs import Cancelled
from storage.changesets import Changeset, MalformedChangeset, Op, changeset_id, decode
from storage.digest import state_digest
from storage.sealing import Reveal
from sync.importer import import_paths
from sync.spool import (
    SPOOL_BATCH,
    ChangesetSpool,
    StagedChangeset,
    first_key_statements,
    held_cost,
)
from tests.storage.test_changeset_decoding import changeset_doc_of, good_changeset
from tests.sync.conftest import Network


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


def _cost(item: StagedChangeset) -> int:
    cost = held_cost(item)
    assert cost is not None
    return cost


def _as_tuple(item: StagedChangeset) -> tuple[object, ...]:
    return (item.cs_id, item.changeset, item.body, item.sig, item.case_prev, item.reveals)


# All on disk; the first 40 in memory and the rest on disk; all in memory.
@pytest.mark.parametrize("held", ["none", "some", "all"])
def test_the_spool_gives_back_key_statements_first_then_the_rest_in_arrival_order(
    tmp_path: Path, held: str
) -> None:
    items = [_staged(n, "" if n % 7 == 0 else f"case{n % 3}") for n in range(2 * SPOOL_BATCH + 11)]
    budget = {"none": 0, "some": sum(_cost(i) for i in items[:40]), "all": 1 << 30}[held]
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
    large.body += b" " * 2000  # only its size matters to the budget
    spool = ChangesetSpool(tmp_path, held_bytes=_cost(small) + _cost(later) + 10)
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


def _deep_size(item: object) -> int:
    """The memory of `item` and of every object it reaches (each counted once)."""
    seen: set[int] = set()
    total = 0
    waiting = [item]
    while waiting:
        obj = waiting.pop()
        if id(obj) in seen or obj is None or isinstance(obj, bool | type):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, dict):
            waiting.extend(obj.keys())
            waiting.extend(obj.values())
        elif isinstance(obj, list | tuple):
            waiting.extend(obj)
        elif hasattr(obj, "__slots__") or hasattr(obj, "__dict__"):
            names = getattr(obj, "__slots__", None) or vars(obj)
            waiting.extend(getattr(obj, name) for name in names)
    return total


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(good_changeset, st.binary(min_size=64, max_size=64))
def test_what_a_held_changeset_takes_is_bounded_by_its_cost(
    doc: dict[str, object], sig: bytes
) -> None:
    """HELD_BYTES bounds the memory held only if `held_cost` is an upper bound: of every
    object a staged changeset reaches, its strings counted whole (shared or not)."""
    body = canonical.encode(doc)
    try:
        changeset = decode(body)
    except MalformedChangeset:
        reject()  # the generator's changesets are nearly all well formed, not all
    item = StagedChangeset(changeset_id(body), changeset, body, sig, "ab" * 32, {})
    cost = held_cost(item)
    if any(type(v) in (list, dict) for op in item.changeset.ops for v in op.fields.values()):
        assert cost is None
    else:
        assert cost is not None and _deep_size(item) <= cost


def test_a_changeset_of_many_small_values_is_bounded_too() -> None:
    """The shapes where memory outgrows the bytes most: many ops, many short values,
    characters beyond ASCII."""
    for fields, ops in (({}, 2000), ({"text": "ab", "class": "é"}, 500)):
        op = {"entity": "note", "fields": fields, "kind": "create", "prev": {}}
        doc = changeset_doc_of([dict(op, entity_id=f"{n}") for n in range(ops)])
        body = canonical.encode(doc)
        item = StagedChangeset(changeset_id(body), decode(body), body, bytes(64), "", {})
        cost = held_cost(item)
        assert cost is not None and _deep_size(item) <= cost


def test_a_changeset_holding_a_list_is_kept_on_disk(tmp_path: Path) -> None:
    """A list costs far more memory than its bytes: no bound, so that changeset and every
    later one wait on disk (the order is kept)."""
    plain, odd = _staged(1, "case"), _staged(2, "case")
    odd.changeset.ops[0].fields["text"] = [[]] * 3
    assert held_cost(odd) is None
    spool = ChangesetSpool(tmp_path)
    try:
        spool.add(plain)
        spool.add(odd)
        assert [i.cs_id for i in spool.items(key_statements=False)] == [plain.cs_id, odd.cs_id]
        assert spool.path.exists()
    finally:
        spool.close()


def test_an_import_cancelled_while_changesets_are_held_changes_nothing_and_resumes_collection(
    network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancel pressed while a bundle is staged, after its changesets were decoded and held
    (garbage collection paused) and while its evidence is written: the import ends as
    cancelled, the workspace is as it was, and collection runs again."""
    kabora, liaison = network.ws["kabora"], network.ws["liaison"]
    case_id = cases.add_case(kabora, "Shelling of the Varosa market")
    source = tmp_path / "statement.bin"
    source.write_bytes(bytes(range(256)) * 2048)
    evidence.add_evidence(kabora, case_id, source)
    network.share("kabora", case_id, "liaison")
    head = network.export("kabora", "liaison").head
    cancel = threading.Event()
    real_add = ChangesetSpool.add

    def held_then_cancelled(spool: ChangesetSpool, item: StagedChangeset) -> None:
        real_add(spool, item)
        assert not gc.isenabled()  # held: collection waits
        cancel.set()  # the person presses Cancel

    monkeypatch.setattr(ChangesetSpool, "add", held_then_cancelled)
    before = state_digest(liaison.conn)
    with pytest.raises(Cancelled):
        import_paths(liaison, [head], None, cancel)
    assert state_digest(liaison.conn) == before
    assert gc.isenabled()
