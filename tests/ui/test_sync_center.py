"""The sync center: real workspaces exchanging real bundles through real widgets.

Workspaces come from the sync tests' `Network` (installations that are each other's
peers); folders are chosen by an injected chooser, questions answered by
`ScriptedPrompts`, and every long step runs on the `runner` fixture's pool while the test
waits for the widget to become idle again (never sleeps).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from storage import cases, queries
from storage.records import Case
from storage.workspace import Workspace
from sync import trust, usb
from sync.bundle_format import BUNDLE_FOLDER, HEAD_SUFFIX
from sync.errors import SyncError
from sync.importer import read_own_manifest
from tests.sync import conftest as sync_fixtures
from tests.sync.conftest import Network
from ui import sync_center
from ui.models.bundle_model import (
    BundleModel,
    BundlePathRole,
    BundleRow,
    DetailRole,
    StateRole,
)
from ui.prompts import ScriptedPrompts
from ui.sync_center import SyncCenter
from ui.tasks import TaskRunner

# The sync tests' fixtures: real installations that are each other's peers.
installation_templates = sync_fixtures.installation_templates
network = sync_fixtures.network

CASE_TITLE = "Shelling of the Varosa market"
WAIT_MS = 60_000  # generous: the CPU is shared with other suites


@dataclass
class Folders:
    """Answers the folder chooser from a list and records the captions."""

    paths: list[Path | None] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)

    def __call__(self, _parent: QWidget, caption: str) -> Path | None:
        self.asked.append(caption)
        return self.paths.pop(0)


@pytest.fixture
def make_center(
    qtbot: QtBot, runner: TaskRunner
) -> Callable[[Workspace, list[Path | None]], tuple[SyncCenter, ScriptedPrompts]]:
    """A shown sync center on a workspace, idle (its first peer reading done)."""

    def make(ws: Workspace, folders: list[Path | None]) -> tuple[SyncCenter, ScriptedPrompts]:
        prompts = ScriptedPrompts()
        center = SyncCenter(ws, runner, prompts, choose=Folders(list(folders)))
        qtbot.addWidget(center)
        center.show()
        qtbot.waitUntil(
            lambda: center.peer_list.count() > 0 and not center.is_busy, timeout=WAIT_MS
        )
        return center, prompts

    return make


def _wait_idle(qtbot: QtBot, center: SyncCenter) -> None:
    qtbot.waitUntil(lambda: not center.is_busy, timeout=WAIT_MS)


def _choose(qtbot: QtBot, center: SyncCenter) -> None:
    with qtbot.waitSignal(center.busy, timeout=WAIT_MS, check_params_cb=lambda b: not b):
        qtbot.mouseClick(center.choose_button, Qt.MouseButton.LeftButton)
    _wait_idle(qtbot, center)


def _shared_case(network: Network, sender: str, *recipients: str) -> str:
    case_id = cases.add_case(network.ws[sender], CASE_TITLE, "Three witnesses")
    network.share(sender, case_id, *recipients)
    return case_id


def _case_ids(ws: Workspace) -> set[str]:
    return {c.id for c in queries.list_cases(ws.conn, limit=50)}


def test_a_case_exported_through_one_center_arrives_through_another(
    network: Network, qtbot: QtBot, make_center: Callable[..., tuple[SyncCenter, ScriptedPrompts]]
) -> None:
    kabora, liaison = network.ws["kabora"], network.ws["liaison"]
    case_id = _shared_case(network, "kabora", "liaison")
    stick = network.new_stick()

    sender, sender_prompts = make_center(kabora, [stick])
    liaison_row = next(
        row
        for row in range(sender.peer_list.count())
        if sender.peer_list.item(row).text().startswith("Tribunal liaison")
    )
    assert sender.peer_list.item(liaison_row).text().endswith("has news")
    _choose(qtbot, sender)
    assert "There are no Valise bundles" in sender.listing_label.text()
    assert not sender.export_button.isEnabled()  # nobody ticked yet
    assert sender.set_peer_checked(liaison.origin)
    assert sender.export_button.isEnabled()
    with qtbot.waitSignal(sender.exported, timeout=WAIT_MS) as exported:
        qtbot.mouseClick(sender.export_button, Qt.MouseButton.LeftButton)
    _wait_idle(qtbot, sender)
    head = exported.args[0].head
    assert head.parent == stick / BUNDLE_FOLDER and head.exists()
    # The case and the grant that shares it.
    assert "Wrote a bundle for Tribunal liaison: 2 changesets in 1 case" in (
        sender.summary.toPlainText()
    )
    assert sender_prompts.asked == []

    receiver, receiver_prompts = make_center(liaison, [stick])
    busy: list[bool] = []
    receiver.busy.connect(busy.append)
    _choose(qtbot, receiver)
    assert receiver.model.rowCount() == 1
    listed = receiver.model.bundle(0)
    assert listed is not None and listed.state == "verified"
    assert listed.sender.startswith("Kabora field office")
    assert "1 bundle found, 1 verified" in receiver.listing_label.text()

    with qtbot.waitSignal(receiver.imported, timeout=WAIT_MS) as imported:
        qtbot.mouseClick(receiver.import_button, Qt.MouseButton.LeftButton)
    _wait_idle(qtbot, receiver)

    assert busy == [True, False, True, False]  # listing, then import; imported after idle
    assert [r.status for r in imported.args[0]] == ["imported"]
    assert queries.get(liaison.conn, Case, case_id).title == CASE_TITLE
    summary = receiver.summary.toPlainText()
    assert summary.startswith("Imported 1 of 1 bundle.")
    assert CASE_TITLE in summary and "from Kabora field office" in summary
    assert receiver.model.bundle(0) is not None
    assert receiver.model.bundle(0).state == "already imported"  # type: ignore[union-attr]
    assert receiver_prompts.asked == []


def test_a_tampered_bundle_is_listed_as_refused_and_imports_nothing(
    network: Network, qtbot: QtBot, make_center: Callable[..., tuple[SyncCenter, ScriptedPrompts]]
) -> None:
    liaison = network.ws["liaison"]
    _shared_case(network, "kabora", "liaison")
    result = network.export("kabora", "liaison")
    part = result.parts[0]
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0x01
    part.write_bytes(bytes(data))

    center, prompts = make_center(liaison, [result.head.parent.parent])
    _choose(qtbot, center)
    row = center.model.bundle(0)
    assert center.model.rowCount() == 1 and row is not None
    assert (row.state, row.state_text) == ("refused", "damaged")
    assert "damaged" in row.detail
    assert "0 verified" in center.listing_label.text()

    assert not center.import_button.isEnabled()  # nothing listed would import
    with qtbot.assertNotEmitted(center.imported):
        assert center.import_listed()  # checked again all the same: still refused
        _wait_idle(qtbot, center)

    summary = center.summary.toPlainText()
    assert "refused (damaged)" in summary and "Nothing of it was imported" in summary
    assert _case_ids(liaison) == set()
    assert prompts.asked == []  # a refusal is reported in the summary, not as an error


def test_cancelling_an_import_midway_leaves_nothing_imported(
    network: Network,
    qtbot: QtBot,
    make_center: Callable[..., tuple[SyncCenter, ScriptedPrompts]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker is held inside the bundle's progress callback (after its parts were
    read, before anything is applied) until Cancel has been clicked."""
    liaison = network.ws["liaison"]
    case_id = _shared_case(network, "kabora", "liaison")
    result = network.export("kabora", "liaison")
    center, prompts = make_center(liaison, [result.head.parent.parent])
    _choose(qtbot, center)

    reached, release = threading.Event(), threading.Event()
    real_import = sync_center.import_bundle

    def held_import(ws, head, progress=None, cancel=None):  # type: ignore[no-untyped-def]
        def hooked(done: int, total: int) -> None:
            reached.set()
            release.wait(WAIT_MS / 1000)
            if progress is not None:
                progress(done, total)

        return real_import(ws, head, hooked, cancel)

    monkeypatch.setattr(sync_center, "import_bundle", held_import)
    with qtbot.assertNotEmitted(center.imported):
        qtbot.mouseClick(center.import_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(reached.is_set, timeout=WAIT_MS)
        assert center.is_busy
        assert not center.choose_button.isEnabled() and not center.import_button.isEnabled()
        assert center.cancel_button.isVisible() and center.cancel_button.isEnabled()
        qtbot.mouseClick(center.cancel_button, Qt.MouseButton.LeftButton)
        release.set()
        _wait_idle(qtbot, center)

    assert center.summary.toPlainText() == "Import cancelled. Nothing was imported."
    assert _case_ids(liaison) == set()
    assert prompts.asked == []  # a cancel is silent

    monkeypatch.undo()  # the same bundle still imports afterwards
    with qtbot.waitSignal(center.imported, timeout=WAIT_MS):
        qtbot.mouseClick(center.import_button, Qt.MouseButton.LeftButton)
    _wait_idle(qtbot, center)
    assert _case_ids(liaison) == {case_id}


def test_escape_cancels_an_export_and_nothing_is_written(
    network: Network,
    qtbot: QtBot,
    make_center: Callable[..., tuple[SyncCenter, ScriptedPrompts]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker is held just before the library writes anything, until Esc was pressed."""
    _shared_case(network, "kabora", "liaison")
    stick = network.new_stick()
    center, prompts = make_center(network.ws["kabora"], [stick])
    _choose(qtbot, center)
    reached, release = threading.Event(), threading.Event()
    real_export = sync_center.export_bundles

    def held_export(*args, **kwargs):  # type: ignore[no-untyped-def]
        reached.set()
        release.wait(WAIT_MS / 1000)
        return real_export(*args, **kwargs)

    monkeypatch.setattr(sync_center, "export_bundles", held_export)
    assert center.set_peer_checked(network.ws["liaison"].origin)
    with qtbot.assertNotEmitted(center.exported):
        qtbot.mouseClick(center.export_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(reached.is_set, timeout=WAIT_MS)
        assert not center.export_button.isEnabled() and not center.peer_list.isEnabled()
        qtbot.keyClick(center.peer_list, Qt.Key.Key_Escape)
        release.set()
        _wait_idle(qtbot, center)

    assert center.summary.toPlainText() == "Export cancelled. Nothing was written to the stick."
    assert list((stick / BUNDLE_FOLDER).iterdir()) == []
    assert prompts.asked == []
    assert center.export_button.isEnabled()  # the ticks are kept for another try


def test_a_folder_without_bundles_says_so(
    network: Network,
    qtbot: QtBot,
    make_center: Callable[..., tuple[SyncCenter, ScriptedPrompts]],
    tmp_path: Path,
) -> None:
    empty = tmp_path / "holiday photos"
    empty.mkdir()
    (empty / "beach.jpg").write_bytes(b"not a bundle")
    center, prompts = make_center(network.ws["liaison"], [None, empty])

    qtbot.mouseClick(center.choose_button, Qt.MouseButton.LeftButton)  # cancelled: nothing
    assert center.folder is None and not center.is_busy

    _choose(qtbot, center)
    assert center.model.rowCount() == 0
    assert center.listing_label.text().startswith(f"There are no Valise bundles in {empty}.")
    assert not center.import_button.isEnabled()
    assert prompts.asked == []


def test_peers_that_may_see_different_things_get_a_bundle_each(
    network: Network, qtbot: QtBot, make_center: Callable[..., tuple[SyncCenter, ScriptedPrompts]]
) -> None:
    _shared_case(network, "kabora", "liaison", "ngo")
    stick = network.new_stick()
    center, prompts = make_center(network.ws["kabora"], [stick])
    _choose(qtbot, center)
    assert center.set_peer_checked(network.ws["liaison"].origin)
    assert center.set_peer_checked(network.ws["ngo"].origin)

    with qtbot.waitSignals([center.exported, center.exported], timeout=WAIT_MS):
        qtbot.mouseClick(center.export_button, Qt.MouseButton.LeftButton)
    _wait_idle(qtbot, center)

    assert prompts.asked == []
    summary = center.summary.toPlainText()
    assert summary.startswith(
        "Wrote 2 bundles: one for Tribunal liaison (full identities), one for Varosa"
        " Documentation Project (pseudonyms only).\n\n"
    )
    assert center.listing_label.text() == "Wrote 2 bundles."
    heads = sorted((stick / BUNDLE_FOLDER).glob(f"*{HEAD_SUFFIX}"))
    assert len(heads) == 2 and all(str(head) in summary for head in heads)
    assert {row.head for row in center.model.bundles()} == set(heads)


def test_sync_with_a_stick_summarises_both_directions(
    network: Network, qtbot: QtBot, make_center: Callable[..., tuple[SyncCenter, ScriptedPrompts]]
) -> None:
    liaison = network.ws["liaison"]
    case_id = _shared_case(network, "kabora", "liaison")
    result = network.export("kabora", "liaison")
    center, prompts = make_center(liaison, [result.head.parent.parent])
    _choose(qtbot, center)

    with qtbot.waitSignal(center.imported, timeout=WAIT_MS):
        qtbot.mouseClick(center.sync_button, Qt.MouseButton.LeftButton)
    _wait_idle(qtbot, center)

    assert _case_ids(liaison) == {case_id}
    summary = center.summary.toPlainText()
    came_in, went_out = summary.split("Went out", 1)
    assert CASE_TITLE in came_in
    assert "Wrote a bundle for Kabora field office" in went_out  # its receipt goes back
    states = [b.state for b in center.model.bundles()]
    assert states == ["ours"]  # the bundle read was only for us, so it left the stick
    assert prompts.asked == []


def test_a_sync_whose_export_fails_lists_every_step_and_goes_on(
    network: Network,
    qtbot: QtBot,
    make_center: Callable[..., tuple[SyncCenter, ScriptedPrompts]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The stick fills up while writing for Dressa: the summary says what came in, that
    Dressa's bundle failed and why, and that the NGO's was still written."""
    liaison = network.ws["liaison"]
    _shared_case(network, "kabora", "liaison")
    result = network.export("kabora", "liaison")
    for name in ("dressa", "ngo"):
        _shared_case(network, "liaison", name)
    real_export = usb.export_bundle

    def stick_full_for_dressa(ws, peers, *args, **kwargs):  # type: ignore[no-untyped-def]
        if peers[0].office_name == "Dressa field office":
            raise SyncError("The stick is full (No space left on device).")
        return real_export(ws, peers, *args, **kwargs)

    monkeypatch.setattr(usb, "export_bundle", stick_full_for_dressa)
    center, prompts = make_center(liaison, [result.head.parent.parent])
    _choose(qtbot, center)
    with qtbot.waitSignal(center.imported, timeout=WAIT_MS):
        qtbot.mouseClick(center.sync_button, Qt.MouseButton.LeftButton)
    _wait_idle(qtbot, center)

    headline = "Synced: 1 bundle imported, 2 bundles written; 1 step FAILED (see above)."
    assert center.listing_label.text() == headline
    summary = center.summary.toPlainText()
    steps = summary.split("Step by step\n\n", 1)[1].split("\n\nCame in", 1)[0].splitlines()
    assert summary.startswith(headline + "\n\n")
    assert [line.split(" ", 1)[0] for line in steps] == [
        "Imported",
        "Removed",
        "FAILED",
        "Wrote",
        "Wrote",
    ]
    assert steps[2] == (
        "FAILED writing a bundle for Dressa field office: The stick is full (No space left"
        " on device)."
    )
    assert "for Kabora field office" in steps[3] and "for Varosa Documentation" in steps[4]
    assert prompts.asked == []


def test_the_bundle_model_is_a_well_behaved_table(qtmodeltester: ModelTester) -> None:
    model = BundleModel()
    qtmodeltester.check(model)
    rows = [
        BundleRow(
            Path("/stick/Valise/a.head.age"),
            "Kabora field office (ab12)",
            "2026-12-02T01:02:03+00:00",
            2,
            3_500_000,
            "verified",
            "verified",
        ),
        BundleRow(
            Path("/stick/Valise/b.head.age"),
            "",
            "",
            None,
            None,
            "not for us",
            "not for us",
            "Addressed to others.",
        ),
    ]
    model.set_rows(rows)
    qtmodeltester.check(model)
    first = model.index(0, BundleModel.WRITTEN)
    assert model.data(first) == "2026-12-02 01:02 UTC"
    assert model.data(model.index(0, BundleModel.SIZE)) == "3.3 MiB"
    assert model.data(first, BundlePathRole) == "/stick/Valise/a.head.age"
    assert model.data(first, StateRole) == "verified"
    second = model.index(1, BundleModel.SENDER)
    assert model.data(second) == "unknown"
    assert model.data(second, DetailRole) == "Addressed to others."
    assert model.data(second, Qt.ItemDataRole.ToolTipRole) == "Addressed to others."
    assert model.roleNames()[StateRole].data() == b"verificationState"
    model.clear()
    qtmodeltester.check(model)
    assert model.rowCount() == 0


def test_the_window_lists_what_the_sync_centre_imported(
    network: Network, qtbot: QtBot, runner: TaskRunner
) -> None:
    from ui.main_window import MainWindow

    _shared_case(network, "kabora", "liaison")
    result = network.export("kabora", "liaison")
    window = MainWindow(network.ws["liaison"], prompts=ScriptedPrompts(), runner=runner)
    qtbot.addWidget(window)
    window.show()
    assert window.model is not None and window.model.total == 0
    window.show_sync_center()
    center = window.findChild(SyncCenter)
    assert center is not None
    qtbot.waitUntil(lambda: not center.is_busy, timeout=WAIT_MS)
    assert center.list_folder(result.head.parent.parent)
    qtbot.waitUntil(lambda: not center.is_busy and center.model.rowCount() == 1, timeout=WAIT_MS)
    assert center.import_listed()
    qtbot.waitUntil(lambda: window.model is not None and window.model.total == 1, timeout=WAIT_MS)
    qtbot.waitUntil(window.table.isEnabled, timeout=WAIT_MS)  # after its peer reread
    assert center.review_button.isVisible()  # the import brought changes to review


def test_after_an_import_the_incoming_changes_name_the_office_and_open_the_case(
    network: Network, qtbot: QtBot, runner: TaskRunner
) -> None:
    from PySide6.QtWidgets import QDockWidget

    from ui.incoming_view import IncomingView
    from ui.main_window import MainWindow

    case_id = _shared_case(network, "kabora", "liaison")
    result = network.export("kabora", "liaison")
    window = MainWindow(network.ws["liaison"], prompts=ScriptedPrompts(), runner=runner)
    qtbot.addWidget(window)
    window.show()
    window.show_sync_center()
    center = window.findChild(SyncCenter)
    assert center is not None and not center.review_button.isVisible()
    qtbot.waitUntil(lambda: not center.is_busy, timeout=WAIT_MS)
    assert center.list_folder(result.head.parent.parent)
    qtbot.waitUntil(lambda: not center.is_busy and center.model.rowCount() == 1, timeout=WAIT_MS)
    assert center.import_listed()
    qtbot.waitUntil(center.review_button.isVisible, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not window._busy, timeout=WAIT_MS)
    center.review_button.click()
    view = window.findChild(IncomingView)
    assert view is not None and view.model.rowCount() >= 1
    office = network.ws["kabora"].office_name
    row = [view.model.index(0, column).data() for column in range(view.model.columnCount())]
    # Signed by: the office on Kabora's card, its role and the start of its fingerprint.
    assert any(str(cell).startswith(f"{office} (office, ") for cell in row)
    view.table.activated.emit(view.model.index(0, 0))
    docks = [d for d in window.findChildren(QDockWidget) if d.windowTitle().startswith("Case ")]
    assert len(docks) == 1 and window.selected_case_id() == case_id


def test_revoked_and_unverified_peers_are_listed_with_why_and_cannot_be_ticked(
    network: Network, qtbot: QtBot, make_center: Callable[..., tuple[SyncCenter, ScriptedPrompts]]
) -> None:
    kabora = network.ws["kabora"]
    _shared_case(network, "kabora", "dressa", "liaison", "ngo")
    trust.revoke_peer(kabora, network.peer("kabora", "dressa"), 0, "laptop stolen")
    with kabora.transaction() as conn:  # the NGO's card as if never compared
        conn.execute(
            "UPDATE peers SET verified_at = '' WHERE origin = ?", (network.ws["ngo"].origin,)
        )
    stick = network.new_stick()
    center, _ = make_center(kabora, [stick])
    _choose(qtbot, center)

    items = {
        center.peer_list.item(row).data(sync_center.PeerOriginRole): center.peer_list.item(row)
        for row in range(center.peer_list.count())
    }
    revoked = items[network.ws["dressa"].origin]
    assert revoked.text() == "Dressa field office (Office): key revoked, nothing is written for it"
    assert "laptop stolen" in revoked.toolTip()
    unverified = items[network.ws["ngo"].origin]
    assert unverified.text().endswith(": not verified, nothing is written for it")
    assert "valise peer verify" in unverified.toolTip()
    assert not center.set_peer_checked(network.ws["dressa"].origin)
    assert not center.set_peer_checked(network.ws["ngo"].origin)
    assert center.set_peer_checked(network.ws["liaison"].origin)

    with qtbot.waitSignal(center.busy, timeout=WAIT_MS, check_params_cb=lambda b: not b):
        qtbot.mouseClick(center.sync_button, Qt.MouseButton.LeftButton)
    _wait_idle(qtbot, center)
    summary = center.summary.toPlainText()
    assert "Nothing is written for Dressa field office" in summary
    assert "Nothing is written for Varosa Documentation Project" in summary
    assert "2 peers skipped" in center.listing_label.text()
    assert _recipients_of_our_bundles(stick, kabora) == [[network.ws["liaison"].origin]]


def _recipients_of_our_bundles(stick: Path, ws: Workspace) -> list[list[str]]:
    """The recipients' origins of each bundle this workspace left on the stick."""
    found = []
    for head in sorted((stick / BUNDLE_FOLDER).glob(f"*{HEAD_SUFFIX}")):
        manifest = read_own_manifest(ws, head)
        assert manifest is not None
        found.append([str(r["origin"]) for r in manifest["recipients"]])
    return found


def test_an_import_with_a_held_back_change_says_so_in_its_first_line(
    network: Network, qtbot: QtBot, make_center: Callable[..., tuple[SyncCenter, ScriptedPrompts]]
) -> None:
    """Found by the end-to-end walk (tests/e2e/test_held_back_walk.py): the first line
    read "0 changesets in 0 cases, 0 evidence files, 0 new conflicts" and the refusal was
    only further down the summary, out of sight."""
    kabora = network.ws["kabora"]
    case_id = _shared_case(network, "kabora", "ngo")
    assert network.send("kabora", "ngo").status == "imported"
    cases.update_case(network.ws["ngo"], case_id, title="A staged incident")
    stick = network.new_stick()
    network.export("ngo", "kabora", stick=stick)

    center, prompts = make_center(kabora, [stick])
    _choose(qtbot, center)
    with qtbot.waitSignal(center.imported, timeout=WAIT_MS):
        qtbot.mouseClick(center.import_button, Qt.MouseButton.LeftButton)
    _wait_idle(qtbot, center)

    first_line = center.summary.toPlainText().splitlines()[0]
    assert first_line.endswith(
        "1 change was held back and not applied: see Sync › Held back… (Ctrl+Shift+H)."
    )
    assert "1 changeset held back and not applied (Held back: " in (center.summary.toPlainText())
    assert queries.get(kabora.conn, Case, case_id).title == CASE_TITLE
    assert prompts.asked == []


def test_the_keys_go_to_the_next_step_once_work_ends(
    network: Network, qtbot: QtBot, make_center: Callable[..., tuple[SyncCenter, ScriptedPrompts]]
) -> None:
    """Found by the end-to-end walk (tests/e2e/test_held_back_walk.py): Cancel had the
    focus while the centre read its peers, and when it went the focus fell into the
    summary text; after listing a stick it fell there again instead of on Import."""
    _shared_case(network, "kabora", "liaison")
    stick = network.new_stick()
    network.export("kabora", "liaison", stick=stick)
    center, _prompts = make_center(network.ws["liaison"], [stick])
    center.activateWindow()
    qtbot.waitUntil(center.isActiveWindow)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is center.choose_button)
    _choose(qtbot, center)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is center.import_button)
