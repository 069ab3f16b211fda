"""Hostile sticks: what lies on a stick besides bundles is skipped with a sentence.

A stick passes through hands nobody controls. Under a name Valise looks for
(`*.head.age`, `*.part.age`, a contact card) it can hold a named pipe, whose opening would
wait for ever with the workspace lock held; a device that streams without end; a folder;
or a symbolic link to `/etc/shadow` or to the workspace's own files. Every file from a
stick is opened by `storage.regular_files` (regular files only, no links, never waiting),
and each test below plants one such thing beside a real bundle: the import finishes, says
which file it skipped and why, and the receiver holds what the real bundle brought and
nothing else.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
from pathlib import Path

import pyrage
import pytest
from pyrage import x25519

from storage import cases, queries
from storage.digest import state_digest
from storage.records import Case
from storage.workspace import Workspace, open_workspace
from sync import parked_bundles, peers
from sync.agekeys import age_identity, age_recipient
from sync.bundle_format import BUNDLE_FOLDER, HEAD_SUFFIX, encode_head, split_head
from sync.cards import parse_card, read_card
from sync.errors import BadCard, SyncError
from sync.importer import NOT_A_FILE, ImportReport, import_paths, inspect_bundle
from sync.parked_bundles import parked_bundle_heads, parked_folder
from tests.conftest import PASSPHRASE
from tests.desktop.clitools import assert_refused, valise
from tests.sync.conftest import Network, add_verified

SENDER, RECEIVER = "kabora", "liaison"
PROMPTLY = 60  # seconds; a hang is what these tests catch


def _stick_with_a_bundle(network: Network) -> tuple[Path, str]:
    """A stick holding one real bundle from SENDER to RECEIVER, and its case id."""
    case_id = cases.add_case(network.ws[SENDER], "Case carried past a checkpoint")
    network.share(SENDER, case_id, RECEIVER)
    stick = network.new_stick()
    network.export(SENDER, RECEIVER, stick=stick)
    return stick, case_id


def _planted_name(stick: Path) -> Path:
    return stick / BUNDLE_FOLDER / f"{secrets.token_hex(16)}{HEAD_SUFFIX}"


def _by_status(reports: list[ImportReport]) -> dict[str, list[ImportReport]]:
    grouped: dict[str, list[ImportReport]] = {}
    for report in reports:
        grouped.setdefault(report.status, []).append(report)
    return grouped


def _assert_skipped_beside_a_real_bundle(
    reports: list[ImportReport], planted: Path, kind: str
) -> None:
    grouped = _by_status(reports)
    assert [r.head for r in grouped.get("imported", [])] != [], reports
    [skipped] = grouped["refused"]
    assert skipped.head == planted and skipped.reason == NOT_A_FILE
    assert planted.name in skipped.message and kind in skipped.message
    assert "skipped" in skipped.message


def test_a_fifo_head_is_skipped_promptly_and_the_workspace_lock_is_released(
    network: Network,
) -> None:
    stick, case_id = _stick_with_a_bundle(network)
    fifo = _planted_name(stick)
    os.mkfifo(fifo)
    receiver = network.ws[RECEIVER]
    root = receiver.paths.root
    receiver.close()  # the import runs in its own process, so a hang can be timed out
    env = {**os.environ, "VALISE_WORKSPACE": str(root), "VALISE_PASSPHRASE": PASSPHRASE}

    result = valise(env, "bundle", "import", stick, timeout=PROMPTLY)

    assert result.returncode == 1, result.stderr  # one file refused: the exit says so
    assert "Traceback" not in result.stderr
    [line] = [ln for ln in result.stderr.splitlines() if ln.startswith("valise: refused")]
    assert fifo.name in line and "named pipe" in line and "skipped" in line
    assert "from Kabora field office" in result.stdout  # the real bundle came in
    with open_workspace(root, PASSPHRASE) as reopened:  # the lock was released
        assert queries.get(reopened.conn, Case, case_id).title
    network.ws[RECEIVER] = open_workspace(root, PASSPHRASE)


def test_a_symlinked_head_is_refused_and_its_target_never_read(network: Network) -> None:
    stick, _ = _stick_with_a_bundle(network)
    receiver = network.ws[RECEIVER]
    assert [r.status for r in network.receive(RECEIVER, stick)] == ["imported"]
    for target in (Path("/etc/shadow"), receiver.paths.keyfile, receiver.paths.database):
        planted = _planted_name(stick)
        planted.symlink_to(target)
        before = state_digest(receiver.conn)
        grouped = _by_status(network.receive(RECEIVER, stick))
        [refused] = grouped["refused"]
        assert refused.head == planted and refused.reason == NOT_A_FILE
        assert "symbolic link" in refused.message
        assert state_digest(receiver.conn) == before
        planted.unlink()


def test_a_symlink_to_a_real_bundle_head_is_not_followed(network: Network) -> None:
    case_id = cases.add_case(network.ws[SENDER], "Case behind a link")
    network.share(SENDER, case_id, RECEIVER)
    elsewhere = network.export(SENDER, RECEIVER)  # a valid bundle on another stick
    stick = network.new_stick()
    (stick / BUNDLE_FOLDER).mkdir()
    link = _planted_name(stick)
    link.symlink_to(elsewhere.head)
    receiver = network.ws[RECEIVER]
    before = state_digest(receiver.conn)
    [report] = network.receive(RECEIVER, stick)
    assert report.status == "refused" and "symbolic link" in report.message
    assert state_digest(receiver.conn) == before


def test_a_symlinked_part_is_refused_and_nothing_is_applied(network: Network) -> None:
    case_id = cases.add_case(network.ws[SENDER], "Case with a linked part")
    network.share(SENDER, case_id, RECEIVER)
    result = network.export(SENDER, RECEIVER)
    part = result.parts[0]
    moved = part.parent.parent / "moved-part"
    part.rename(moved)
    part.symlink_to(moved)  # the very bytes the manifest expects, behind a link
    receiver = network.ws[RECEIVER]
    before = state_digest(receiver.conn)
    [report] = network.receive(RECEIVER, result.head)
    assert report.status == "refused" and report.reason == NOT_A_FILE
    assert "symbolic link" in report.message and "Part 1 of" in report.message
    assert state_digest(receiver.conn) == before


def test_a_folder_named_like_a_head_is_skipped(network: Network) -> None:
    stick, _ = _stick_with_a_bundle(network)
    folder = _planted_name(stick)
    folder.mkdir()
    reports = network.receive(RECEIVER, stick)
    _assert_skipped_beside_a_real_bundle(reports, folder, "a folder")


def test_a_device_named_like_a_head_is_skipped(network: Network) -> None:
    stick, _ = _stick_with_a_bundle(network)
    device = _planted_name(stick)
    try:  # /dev/zero: it would stream zeros for ever
        os.mknod(device, stat.S_IFCHR | 0o600, os.makedev(1, 5))
    except PermissionError:
        pytest.skip("making a device node needs root")
    reports = network.receive(RECEIVER, stick)
    _assert_skipped_beside_a_real_bundle(reports, device, "a device")


def test_a_fifo_part_is_refused_without_waiting(network: Network) -> None:
    case_id = cases.add_case(network.ws[SENDER], "Case with a pipe for a part")
    network.share(SENDER, case_id, RECEIVER)
    result = network.export(SENDER, RECEIVER)
    part = result.parts[0]
    part.unlink()
    os.mkfifo(part)
    [report] = network.receive(RECEIVER, result.head)
    assert report.status == "refused" and "named pipe" in report.message


def test_a_stick_whose_bundle_folder_is_a_link_is_refused_whole(
    network: Network, tmp_path: Path
) -> None:
    stick = network.new_stick()
    (stick / BUNDLE_FOLDER).symlink_to(network.ws[RECEIVER].paths.root)
    with pytest.raises(SyncError, match="symbolic link"):
        import_paths(network.ws[RECEIVER], [stick])


def test_inspect_says_a_planted_head_is_not_a_file(network: Network) -> None:
    stick, _ = _stick_with_a_bundle(network)
    fifo = _planted_name(stick)
    os.mkfifo(fifo)
    info = inspect_bundle(network.ws[RECEIVER], fifo)
    assert info["verification"] == f"refused ({NOT_A_FILE})"
    assert "named pipe" in info["detail"]


def test_a_card_that_is_a_fifo_is_refused_promptly(
    workspace_dir: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    card = tmp_path / "kabora.card"
    os.mkfifo(card)
    result = valise(cli_env, "peer", "add", card, "--role", "office", timeout=PROMPTLY)
    assert_refused(result, 1, "named pipe", "not a contact card")
    with pytest.raises(BadCard, match="named pipe"):
        read_card(card)


def test_a_card_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    card = tmp_path / "kabora.card"
    card.symlink_to("/etc/shadow")
    with pytest.raises(BadCard, match="symbolic link"):
        read_card(card)


# == bundles of a sender we do not know yet =================================================


def _kept_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _forget_sender(network: Network) -> None:
    network.ws[RECEIVER].conn.execute(
        "DELETE FROM peers WHERE origin = ?", (network.ws[SENDER].origin,)
    )


def _stick_of_unknown_bundles(network: Network, count: int) -> tuple[Path, list[str]]:
    """A stick with `count` bundles from a sender the receiver forgot."""
    _forget_sender(network)
    stick = network.new_stick()
    case_ids = []
    for n in range(count):
        case_id = cases.add_case(network.ws[SENDER], f"Case {n} from an unknown office")
        network.share(SENDER, case_id, RECEIVER)
        network.export(SENDER, RECEIVER, stick=stick)
        case_ids.append(case_id)
    return stick, case_ids


def test_heads_of_an_unknown_sender_and_a_junk_part_park_only_what_the_heads_name(
    network: Network,
) -> None:
    stick, case_ids = _stick_of_unknown_bundles(network, 3)
    junk = stick / BUNDLE_FOLDER / f"{secrets.token_hex(16)}.part.age"
    with junk.open("wb") as handle:
        handle.truncate(20 * 1024 * 1024)
    receiver = network.ws[RECEIVER]
    before = state_digest(receiver.conn)

    reports = network.receive(RECEIVER, stick)

    assert [r.status for r in reports] == ["parked"] * 3, [r.message for r in reports]
    assert all("kept (its head and the 1 part it names)" in r.message for r in reports)
    parked = parked_folder(receiver)
    assert _kept_bytes(parked) < 1024 * 1024  # the 20 MiB junk part stayed on the stick
    assert not any(p.name == junk.name for p in parked.rglob("*"))
    assert state_digest(receiver.conn) == before

    shutil.rmtree(stick)  # the courier leaves; the card arrives later
    add_verified(receiver, parse_card(peers.card_bytes(network.ws[SENDER])), "office")
    reports = network.receive(RECEIVER, network.new_stick())
    assert [r.status for r in reports] == ["imported"] * 3, [r.message for r in reports]
    for case_id in case_ids:
        assert queries.get(receiver.conn, Case, case_id).title.startswith("Case")
    assert parked_bundle_heads(receiver) == []


def test_a_head_naming_parts_over_the_per_sender_cap_is_not_kept(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    stick, _ = _stick_of_unknown_bundles(network, 2)
    head_and_part = sum(p.stat().st_size for p in (stick / BUNDLE_FOLDER).iterdir()) // 2
    monkeypatch.setattr(parked_bundles, "PARKED_BYTES_PER_SENDER", head_and_part + 100)

    reports = network.receive(RECEIVER, stick)

    assert sorted(r.status for r in reports) == ["parked", "refused"], reports
    [refused] = [r for r in reports if r.status == "refused"]
    assert refused.reason == parked_bundles.NOT_KEPT
    assert "not kept" in refused.message and "over the limit" in refused.message
    assert "valise peer add" in refused.message
    assert len(parked_bundle_heads(network.ws[RECEIVER])) == 1


def test_bundles_over_the_total_cap_are_not_kept(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    stick, _ = _stick_of_unknown_bundles(network, 1)
    monkeypatch.setattr(parked_bundles, "PARKED_BYTES_TOTAL", 1000)
    [report] = network.receive(RECEIVER, stick)
    assert report.status == "refused" and "unknown senders" in report.message
    assert parked_bundle_heads(network.ws[RECEIVER]) == []


def test_a_named_part_that_is_a_symlink_is_not_kept(network: Network) -> None:
    stick, _ = _stick_of_unknown_bundles(network, 1)
    [part] = (stick / BUNDLE_FOLDER).glob("*.part.age")
    moved = stick / "moved-part"
    part.rename(moved)
    part.symlink_to(moved)
    [report] = network.receive(RECEIVER, stick)
    assert report.status == "refused" and "symbolic link" in report.message
    assert parked_bundle_heads(network.ws[RECEIVER]) == []
    assert not any(parked_folder(network.ws[RECEIVER]).glob(".*"))  # no half-kept copy


def test_a_head_signed_by_another_key_than_it_names_is_not_kept(network: Network) -> None:
    """Self-signed at least: a head whose manifest does not verify under its own key."""
    stick, _ = _stick_of_unknown_bundles(network, 1)
    [head] = (stick / BUNDLE_FOLDER).glob(f"*{HEAD_SUFFIX}")
    receiver = network.ws[RECEIVER]
    plain = pyrage.decrypt(head.read_bytes(), [_identity(receiver)])
    manifest_bytes, _signature = split_head(plain)
    forged = encode_head(manifest_bytes, bytes(64))
    head.write_bytes(pyrage.encrypt(forged, [_recipient(receiver)]))
    [report] = network.receive(RECEIVER, stick)
    assert report.status == "refused" and report.reason == "signature"
    assert parked_bundle_heads(receiver) == []


def _identity(ws: Workspace) -> x25519.Identity:
    return x25519.Identity.from_str(age_identity(ws.keys.encryption_private))


def _recipient(ws: Workspace) -> x25519.Recipient:
    return x25519.Recipient.from_str(age_recipient(ws.keys.encryption_public))
