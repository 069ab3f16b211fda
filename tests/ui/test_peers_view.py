"""The peers view: adding real contact cards, verifying, revoking, saving our own card,
probation and the setting that accepts unverified peers.

Cards come from real workspaces (the sync tests' `Network`, whose peers are verified, and
the suite's template workspace, which adds them unverified); dialogs are answered by
`ScriptedPrompts`, files by injected choosers, and the role and digits questions by the
real `AddPeerDialog` and `VerifyPeerDialog`, shown and clicked rather than executed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from storage import audit
from storage.workspace import Workspace
from sync import peer_state, peers, trust
from sync.cards import MAX_CARD_BYTES, PEER_ROLES, ContactCard, encode_card, parse_card
from tests.sync import conftest as sync_fixtures
from tests.sync.conftest import Network
from ui.models.peer_model import FingerprintRole, PeerModel, PeerOriginRole
from ui.peers_view import AddPeerDialog, PeersView, VerifyPeerDialog
from ui.prompts import ScriptedPrompts

# The sync tests' fixtures: real installations that are each other's peers.
installation_templates = sync_fixtures.installation_templates
network = sync_fixtures.network


@dataclass
class Files:
    """Answers the view's file choosers from a list and records the captions."""

    paths: list[Path | None] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)

    def open(self, _parent: QWidget, caption: str) -> Path | None:
        self.asked.append(caption)
        return self.paths.pop(0)

    def save(self, _parent: QWidget, caption: str, suggested: str) -> Path | None:
        self.asked.append(f"{caption} [{suggested}]")
        return self.paths.pop(0)


@dataclass
class RoleDialogs:
    """Plays a person at the real AddPeerDialog: reads it, picks a role (or cancels)."""

    qtbot: QtBot
    role: str | None
    seen: list[AddPeerDialog] = field(default_factory=list)

    def __call__(
        self, parent: QWidget, card: ContactCard, known_as: str | None, ours: str
    ) -> str | None:
        dialog = AddPeerDialog(card, parent, known_as, ours)
        self.qtbot.addWidget(dialog)
        dialog.show()
        self.seen.append(dialog)
        assert not dialog.add_button.isEnabled()  # no role is chosen for the person
        if self.role is None:
            dialog.reject()
        else:
            dialog.set_role(self.role)
            self.qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
        return dialog.role() if dialog.result() == QDialog.DialogCode.Accepted else None


@dataclass
class DigitsDialogs:
    """Plays a person at the real VerifyPeerDialog: types each of `typed` in turn and
    presses Verify (None: cancels); the dialog stays open while the digits are wrong."""

    qtbot: QtBot
    typed: list[str | None]
    seen: list[VerifyPeerDialog] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __call__(self, parent: QWidget, peer: peers.Peer, ours: str) -> str | None:
        dialog = VerifyPeerDialog(peer, ours, parent)
        self.qtbot.addWidget(dialog)
        dialog.show()
        self.seen.append(dialog)
        assert not dialog.verify_button.isEnabled()  # nothing typed yet
        for text in self.typed:
            if text is None:
                dialog.reject()
                break
            dialog.digits_edit.clear()
            self.qtbot.keyClicks(dialog.digits_edit, text)
            if not text.strip():
                assert not dialog.verify_button.isEnabled()  # nothing to check
                continue
            self.qtbot.mouseClick(dialog.verify_button, Qt.MouseButton.LeftButton)
            if dialog.result() == QDialog.DialogCode.Accepted:
                break
            assert dialog.isVisible() and dialog.problem_label.isVisible()
            self.problems.append(dialog.problem_label.text())
        return dialog.digits() if dialog.result() == QDialog.DialogCode.Accepted else None


def write_card(ws: Workspace, path: Path) -> Path:
    path.write_bytes(peers.card_bytes(ws))
    return path


def make_view(
    qtbot: QtBot,
    ws: Workspace,
    prompts: ScriptedPrompts,
    files: Files | None = None,
    role: RoleDialogs | None = None,
    digits: DigitsDialogs | None = None,
) -> PeersView:
    files = files or Files()
    view = PeersView(
        ws,
        prompts=prompts,
        choose_open=files.open,
        choose_save=files.save,
        ask_role=role or RoleDialogs(qtbot, None),
        ask_digits=digits or DigitsDialogs(qtbot, [None]),
    )
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    return view


def rows(view: PeersView) -> list[list[str]]:
    model = view.model
    return [
        [model.index(r, c).data() for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]


@pytest.mark.qt_log_level_fail("WARNING")  # Qt's own tester reports through warnings
@pytest.mark.parametrize("force_py", [False, True], ids=["qt-tester", "py-tester"])
def test_model_passes_qtmodeltester(
    qtmodeltester: ModelTester, network: Network, ws: Workspace, force_py: bool
) -> None:
    qtmodeltester.check(PeerModel(ws), force_py=force_py)  # no peers yet
    model = PeerModel(network.ws["kabora"])
    qtmodeltester.check(model, force_py=force_py)
    assert model.rowCount() == 3
    model.refresh()
    names = [name.data() for name in model.roleNames().values()]
    assert b"peerOrigin" in names and b"fingerprint" in names


def test_the_list_shows_office_role_short_fingerprint_verified_and_added(network: Network) -> None:
    kabora = network.ws["kabora"]
    model = PeerModel(kabora)
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == ["Office", "Role", "Fingerprint", "Verified", "Added", "Revoked"]
    offices = [model.index(r, PeerModel.OFFICE).data() for r in range(model.rowCount())]
    assert offices == ["Dressa field office", "Tribunal liaison", "Varosa Documentation Project"]
    dressa = network.peer("kabora", "dressa")
    row = [model.index(0, c).data() for c in range(model.columnCount())]
    assert row[1] == "Office"
    assert row[2] == " ".join(dressa.fingerprint.split()[:2]) + " …"
    assert row[3:] == ["Yes", dressa.added_at[:10], ""]  # the network's peers are verified
    assert model.index(2, PeerModel.ROLE).data() == "NGO"
    assert model.index(0, 0).data(PeerOriginRole) == dressa.origin
    assert model.index(0, PeerModel.FINGERPRINT).data(FingerprintRole) == dressa.fingerprint
    assert model.index(0, PeerModel.FINGERPRINT).data(Qt.ItemDataRole.ToolTipRole) == (
        dressa.fingerprint
    )


def test_adding_a_card_shows_its_fingerprint_large_and_adds_the_peer_with_the_chosen_role(
    qtbot: QtBot, network: Network, ws: Workspace, tmp_path: Path
) -> None:
    liaison = network.ws["liaison"]
    card_file = write_card(liaison, tmp_path / "liaison.card")
    prompts = ScriptedPrompts()
    dialogs = RoleDialogs(qtbot, "defence")
    view = make_view(qtbot, ws, prompts, Files([card_file]), dialogs)
    assert view.model.rowCount() == 0

    with qtbot.waitSignal(view.peersChanged, timeout=2000):
        qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)

    [dialog] = dialogs.seen
    assert dialog.office_label.text() == "Tribunal liaison"
    assert dialog.fingerprint_label.text() == liaison.fingerprint  # grouped as the CLI shows it
    assert len(liaison.fingerprint.split()) == 8
    big = dialog.fingerprint_label.font()
    assert big.fixedPitch()
    assert big.pointSizeF() >= 1.8 * dialog.font().pointSizeF()
    assert dialog.fingerprint_label.textFormat() == Qt.TextFormat.PlainText
    assert dialog.our_fingerprint_label.text() == ws.fingerprint  # ours, to read to them
    assert dialog.our_fingerprint_label.font().fixedPitch()
    assert "on probation" in dialog.intro_label.text()
    assert dialog.claimed_label.text().startswith("Liaison (the role it claims")
    assert [dialog.role_combo.itemData(i) for i in range(dialog.role_combo.count())] == list(
        PEER_ROLES
    )

    [peer] = peers.list_peers(ws)
    assert (peer.origin, peer.role, peer.verified) == (liaison.origin, "defence", False)
    assert rows(view) == [
        [
            "Tribunal liaison",
            "Defence",
            view.model.index(0, 2).data(),
            "No: on probation",
            peer.added_at[:10],
            "",
        ]
    ]
    assert view.selected_peer() == peer
    assert "Added Tribunal liaison as Defence" in view.message_label.text()
    assert prompts.asked == []


def test_cancelling_the_card_dialog_adds_nothing(
    qtbot: QtBot, network: Network, ws: Workspace, tmp_path: Path
) -> None:
    card_file = write_card(network.ws["dressa"], tmp_path / "dressa.card")
    prompts = ScriptedPrompts()
    dialogs = RoleDialogs(qtbot, None)
    view = make_view(qtbot, ws, prompts, Files([card_file]), dialogs)

    with qtbot.assertNotEmitted(view.peersChanged):
        qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)

    assert len(dialogs.seen) == 1
    assert peers.list_peers(ws) == []
    assert view.model.rowCount() == 0
    assert prompts.asked == []


def test_cancelling_the_file_chooser_asks_nothing_more(qtbot: QtBot, ws: Workspace) -> None:
    dialogs = RoleDialogs(qtbot, "office")
    prompts = ScriptedPrompts()
    view = make_view(qtbot, ws, prompts, Files([None]), dialogs)
    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)
    assert dialogs.seen == [] and prompts.asked == []


@pytest.mark.parametrize("kind", ["garbage", "empty", "too large", "folder", "missing", "json"])
def test_a_bad_card_file_gives_a_plain_sentence(
    qtbot: QtBot, ws: Workspace, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "card.card"
    if kind == "garbage":
        path.write_bytes(bytes(range(256)) * 3)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "too large":
        path.write_bytes(b"{" * (MAX_CARD_BYTES * 4))
    elif kind == "folder":
        path.mkdir()
    elif kind == "json":
        path.write_text('{"format": "valise.card", "version": 1}\n')
    dialogs = RoleDialogs(qtbot, "office")
    prompts = ScriptedPrompts()
    view = make_view(qtbot, ws, prompts, Files([path]), dialogs)

    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)

    [asked] = prompts.asked
    assert asked.kind == "warn", asked
    assert str(path) in asked.text
    assert asked.text.startswith(("The file ", "The folder ")) and asked.text.endswith("again.")
    assert "Error" not in asked.text  # no parser or exception names
    assert "Traceback" not in asked.text and "\n" not in asked.text
    assert dialogs.seen == []
    assert peers.list_peers(ws) == []


def test_our_own_card_is_refused_with_a_sentence(
    qtbot: QtBot, ws: Workspace, tmp_path: Path
) -> None:
    prompts = ScriptedPrompts()
    dialogs = RoleDialogs(qtbot, "office")
    view = make_view(qtbot, ws, prompts, Files([write_card(ws, tmp_path / "ours.card")]), dialogs)
    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)
    assert [a.kind for a in prompts.asked] == ["warn"]
    assert "own contact card" in prompts.asked[0].text
    assert dialogs.seen == [] and peers.list_peers(ws) == []


def test_mark_as_verified_asks_for_the_digits_refuses_wrong_ones_and_is_reflected(
    qtbot: QtBot, network: Network, ws: Workspace
) -> None:
    dressa_ws = network.ws["dressa"]
    dressa = peers.add_peer(ws, parse_card(peers.card_bytes(dressa_ws)), "office")
    real = dressa.fingerprint
    wrong = real[:-1] + ("0" if real[-1] != "0" else "1")
    prompts = ScriptedPrompts()
    dialogs = DigitsDialogs(qtbot, ["12345 abcde", wrong, real.replace(" ", "")])
    view = make_view(qtbot, ws, prompts, digits=dialogs)
    opened_on = view.selected_peer()  # the first peer is selected when the view opens
    assert opened_on is not None and opened_on.origin == dressa.origin
    assert view.select_peer(dressa.origin)
    assert view.verify_button.isEnabled()
    row = view.model.row_of(dressa.origin)
    assert view.model.index(row, PeerModel.VERIFIED).data() == "No: on probation"
    tooltip = view.model.index(row, PeerModel.VERIFIED).data(Qt.ItemDataRole.ToolTipRole)
    assert "was never compared" in tooltip and "valise peer verify" in tooltip

    with qtbot.waitSignal(view.peersChanged, timeout=2000):
        qtbot.mouseClick(view.verify_button, Qt.MouseButton.LeftButton)

    [dialog] = dialogs.seen
    assert dialog.our_fingerprint_label.text() == ws.fingerprint
    assert real not in dialog.intro_label.text()  # theirs is typed as heard, not shown
    assert "only the digits 0 to 9" in dialogs.problems[0]
    assert "do not match the card of Dressa field office" in dialogs.problems[1]
    assert len(dialogs.problems) == 2 and prompts.asked == []
    assert peers.get_peer(ws, dressa.origin).verified
    assert view.model.index(row, PeerModel.VERIFIED).data() == "Yes"
    selected = view.selected_peer()
    assert selected is not None and selected.origin == dressa.origin
    assert not view.verify_button.isEnabled()
    assert view.message_label.text().startswith("Dressa field office is marked as verified")


def test_cancelling_the_digits_or_typing_wrong_ones_verifies_nothing(
    qtbot: QtBot, network: Network, ws: Workspace
) -> None:
    dressa = peers.add_peer(ws, parse_card(peers.card_bytes(network.ws["dressa"])), "office")
    other = network.ws["liaison"].fingerprint  # a real fingerprint, of another office
    dialogs = DigitsDialogs(qtbot, [other, "", None])
    view = make_view(qtbot, ws, ScriptedPrompts(), digits=dialogs)
    view.select_peer(dressa.origin)
    before = [e.seq for e in audit.entries(ws.conn, limit=1)]

    qtbot.mouseClick(view.verify_button, Qt.MouseButton.LeftButton)

    [dialog] = dialogs.seen
    assert dialog.result() == QDialog.DialogCode.Rejected
    assert "do not match" in dialogs.problems[0]
    assert not dialog.verify_button.isEnabled()  # emptied: nothing to check
    assert not peers.get_peer(ws, dressa.origin).verified
    assert [e.seq for e in audit.entries(ws.conn, limit=1)] == before


def test_accepting_unverified_peers_in_the_window_warns_first_and_is_audited(
    qtbot: QtBot, network: Network, ws: Workspace
) -> None:
    dressa = peers.add_peer(ws, parse_card(peers.card_bytes(network.ws["dressa"])), "office")
    prompts = ScriptedPrompts([False, True])
    view = make_view(qtbot, ws, prompts)
    box = view.accept_unverified_box
    assert box.accessibleName() and not box.isChecked()

    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)  # declines the warning
    assert not box.isChecked() and not peer_state.accepts_unverified_peers(ws)
    with qtbot.waitSignal(view.peersChanged, timeout=2000):
        qtbot.mouseClick(box, Qt.MouseButton.LeftButton)

    assert [a.kind for a in prompts.asked] == ["confirm", "confirm"]
    assert "forged card would be trusted" in prompts.asked[0].text
    assert box.isChecked() and peer_state.accepts_unverified_peers(ws)
    row = view.model.row_of(dressa.origin)
    assert view.model.index(row, PeerModel.VERIFIED).data() == "No (accepted)"
    assert "recorded in the audit log" in view.message_label.text()
    [entry] = audit.entries(ws.conn, limit=1)
    assert (entry.action, entry.subject) == ("policy changed", "accept-unverified-peers")

    with qtbot.waitSignal(view.peersChanged, timeout=2000):
        qtbot.mouseClick(box, Qt.MouseButton.LeftButton)  # off again: no question asked
    assert len(prompts.asked) == 2 and not peer_state.accepts_unverified_peers(ws)
    assert view.model.index(row, PeerModel.VERIFIED).data() == "No: on probation"
    assert audit.entries(ws.conn, limit=1)[0].detail == '{"from":"yes","to":"no"}'


def test_a_revoked_peer_is_shown_revoked_with_the_reason(qtbot: QtBot, network: Network) -> None:
    kabora = network.ws["kabora"]
    dressa = network.peer("kabora", "dressa")
    trust.revoke_peer(kabora, dressa, 0, "laptop stolen")
    view = make_view(qtbot, kabora, ScriptedPrompts())
    row = view.model.row_of(dressa.origin)
    assert view.model.index(row, PeerModel.REVOKED).data() == "Revoked after 0"
    tooltip = view.model.index(row, PeerModel.REVOKED).data(Qt.ItemDataRole.ToolTipRole)
    assert "Nothing is written for Dressa field office" in tooltip and "laptop stolen" in tooltip
    view.select_peer(dressa.origin)
    assert not view.verify_button.isEnabled() and not view.revoke_button.isEnabled()


def test_revoke_asks_the_number_and_reason_warns_it_is_permanent_and_is_reflected(
    qtbot: QtBot, network: Network
) -> None:
    kabora = network.ws["kabora"]
    ngo = network.peer("kabora", "ngo")
    prompts = ScriptedPrompts(["3", "laptop stolen in Oru", True])
    view = make_view(qtbot, kabora, prompts)
    view.select_peer(ngo.origin)

    with qtbot.waitSignal(view.peersChanged, timeout=2000):
        qtbot.mouseClick(view.revoke_button, Qt.MouseButton.LeftButton)

    assert [a.kind for a in prompts.asked] == ["text", "text", "confirm"]
    assert "permanent" in prompts.asked[2].text and "after number 3" in prompts.asked[2].text
    assert peers.get_peer(kabora, ngo.origin).revoked_after == 3
    row = view.model.row_of(ngo.origin)
    assert view.model.index(row, PeerModel.REVOKED).data() == "Revoked after 3"
    assert not view.revoke_button.isEnabled() and not view.verify_button.isEnabled()
    assert "revoked after its changeset 3" in view.message_label.text()


@pytest.mark.parametrize(
    ("answers", "warned"),
    [
        (["three"], True),  # not a number
        (["-1"], True),
        ([None], False),  # cancelled at the number
        (["2", None], False),  # cancelled at the reason
        (["2", "lost", False], False),  # declined the permanent step
    ],
)
def test_revoke_changes_nothing_until_every_answer_is_given(
    qtbot: QtBot, network: Network, answers: list[str | bool | None], warned: bool
) -> None:
    kabora = network.ws["kabora"]
    dressa = network.peer("kabora", "dressa")
    prompts = ScriptedPrompts(answers)
    view = make_view(qtbot, kabora, prompts)
    view.select_peer(dressa.origin)

    with qtbot.assertNotEmitted(view.peersChanged):
        qtbot.mouseClick(view.revoke_button, Qt.MouseButton.LeftButton)

    assert peers.get_peer(kabora, dressa.origin).revoked_after is None
    assert (prompts.asked[-1].kind == "warn") is warned
    if warned:
        assert "Nothing was changed." in prompts.asked[-1].text


def test_saving_our_card_writes_a_file_that_parses_back(
    qtbot: QtBot, ws: Workspace, tmp_path: Path
) -> None:
    target = tmp_path / "out" / "kabora.card"
    target.parent.mkdir()
    files = Files([target])
    prompts = ScriptedPrompts()
    view = make_view(qtbot, ws, prompts, files)

    qtbot.mouseClick(view.save_card_button, Qt.MouseButton.LeftButton)

    card = parse_card(target.read_bytes())
    assert (card.office_name, card.origin, card.fingerprint) == (
        ws.office_name,
        ws.origin,
        ws.fingerprint,
    )
    assert files.asked == ["Save our contact card [kabora-field-office.card]"]
    assert ws.fingerprint in view.message_label.text()
    assert prompts.asked == []
    assert [p.name for p in target.parent.iterdir()] == ["kabora.card"]  # no temp file left


def test_saving_our_card_where_it_cannot_be_written_gives_a_sentence(
    qtbot: QtBot, ws: Workspace, tmp_path: Path
) -> None:
    target = tmp_path / "no such folder" / "kabora.card"
    prompts = ScriptedPrompts()
    view = make_view(qtbot, ws, prompts, Files([target]))
    qtbot.mouseClick(view.save_card_button, Qt.MouseButton.LeftButton)
    [asked] = prompts.asked
    assert asked.kind == "warn"
    assert asked.text.startswith(f"Cannot write {target}: No such file or directory.")
    assert not target.exists()


def test_controls_have_accessible_names_and_take_keyboard_focus(
    qtbot: QtBot, network: Network
) -> None:
    view = make_view(qtbot, network.ws["kabora"], ScriptedPrompts())
    for control in (
        view.table,
        view.add_button,
        view.verify_button,
        view.revoke_button,
        view.save_card_button,
    ):
        assert control.accessibleName(), control
        assert control.focusPolicy() & Qt.FocusPolicy.TabFocus, control.accessibleName()
    assert [b.text() for b in (view.add_button, view.save_card_button)] == [
        "&Add a contact card…",
        "Save our car&d…",
    ]


# -- text that fools the screen --------------------------------------------------------------


def _named_card(ws: Workspace, office_name: str) -> ContactCard:
    card = parse_card(peers.card_bytes(ws))
    return ContactCard(
        office_name, card.role, card.signing_public, card.encryption_public, card.created
    )


def test_a_card_whose_office_name_reorders_the_fingerprint_is_refused_in_the_window(
    qtbot: QtBot, network: Network, tmp_path: Path
) -> None:
    """A right-to-left override in the office name would display the fingerprint beside it
    reversed; such a card is refused with a sentence before the role is asked."""
    kabora, dressa = network.ws["kabora"], network.ws["dressa"]
    path = tmp_path / "dressa.card"
    path.write_bytes(encode_card(dressa, _named_card(dressa, "Dressa \u202e 09876 54321")))
    prompts = ScriptedPrompts()
    dialogs = RoleDialogs(qtbot, "office")
    view = make_view(qtbot, kabora, prompts, Files([path]), dialogs)
    before = rows(view)

    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)

    [asked] = prompts.asked
    assert asked.kind == "warn"
    assert "reorders the text shown around it (U+202E); such a card is refused" in asked.text
    assert "\u202e" not in asked.text
    assert dialogs.seen == [] and rows(view) == before


def test_an_office_name_recorded_by_an_older_valise_is_shown_escaped(
    qtbot: QtBot, network: Network, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    dressa = network.ws["dressa"]
    with monkeypatch.context() as older:  # an older Valise did not refuse the name
        older.setattr(peers, "text_problem", lambda *args, **kwargs: "")
        peers.add_peer(ws, _named_card(dressa, "Dressa \u202e\x1b[2K office"), "office")
    dialogs = DigitsDialogs(qtbot, [None])
    view = make_view(qtbot, ws, ScriptedPrompts(), digits=dialogs)
    row = view.model.row_of(dressa.origin)
    assert view.model.index(row, PeerModel.OFFICE).data() == "Dressa \\u202e\\x1b[2K office"
    assert view.select_peer(dressa.origin)
    qtbot.mouseClick(view.verify_button, Qt.MouseButton.LeftButton)
    [dialog] = dialogs.seen
    shown = dialog.intro_label.text()
    assert "Dressa \\u202e\\x1b[2K office" in shown and "\u202e" not in shown
