"""Signatures of large bundles are checked in a worker process: same verdicts, any size."""

from __future__ import annotations

import multiprocessing
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from storage import cases
from storage.identity import CHANGESET_DOMAIN
from sync import verify_pool
from tests.sync.conftest import Network


def _signed(count: int, bad: set[int]) -> list[tuple[str, bytes, bytes, bytes]]:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    items = []
    for n in range(count):
        body = f'{{"n":{n}}}'.encode()
        sig = key.sign(CHANGESET_DOMAIN + body)
        if n in bad:
            sig = bytes([sig[0] ^ 1]) + sig[1:]
        items.append((f"{n:064x}", public, body, sig))
    return items


@pytest.mark.parametrize("threshold", [1, 10**9], ids=["worker process", "in process"])
def test_the_same_signatures_fail_with_and_without_the_worker(
    threshold: int, monkeypatch: pytest.MonkeyPatch, no_process_left: None
) -> None:
    monkeypatch.setattr(verify_pool, "POOL_THRESHOLD", threshold)
    monkeypatch.setattr(verify_pool, "BATCH", 7)
    items = _signed(50, bad={3, 31, 49})
    checker = verify_pool.SignatureChecker(expected=len(items))
    for item in items:
        checker.add(*item)
    assert checker.finish() == [items[3][0], items[31][0], items[49][0]]


def test_a_large_bundle_imports_through_the_worker(
    network: Network, monkeypatch: pytest.MonkeyPatch, no_process_left: None
) -> None:
    monkeypatch.setattr(verify_pool, "POOL_THRESHOLD", 10)
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Case")
    for n in range(40):
        cases.add_note(kabora, case_id, f"note {n}")
    network.share("kabora", case_id, "liaison")
    report = network.send("kabora", "liaison")
    assert report.status == "imported" and report.changesets == 42  # with the grant


_REAL_FAILED_IN = verify_pool.failed_in


def _dies_in_the_worker(batch: list[tuple[str, bytes, bytes, bytes]]) -> list[str]:
    if multiprocessing.parent_process() is not None:
        os._exit(9)  # the worker is killed (out of memory, say)
    return _REAL_FAILED_IN(batch)


def test_a_dead_worker_leaves_the_checking_to_the_main_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(verify_pool, "POOL_THRESHOLD", 1)
    monkeypatch.setattr(verify_pool, "BATCH", 7)
    monkeypatch.setattr(verify_pool, "failed_in", _dies_in_the_worker)
    items = _signed(60, bad={0, 20, 59})
    checker = verify_pool.SignatureChecker(expected=len(items))
    for item in items:
        checker.add(*item)
    assert checker.finish() == [items[0][0], items[20][0], items[59][0]]
