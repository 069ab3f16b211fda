"""The Trust view: revocations of keys and advisories a person decides, and the authorities.

Real workspaces (the sync `network`: Kabora, Dressa, the tribunal liaison, an NGO). The NGO
says Kabora's key is stolen and sends the statement to the liaison, where the NGO is no
authority: an advisory. A person at the liaison reads it in the view, and confirms or
dismisses it through the real `DecisionDialog`; a person at Dressa names the liaison as an
authority through the real `AuthorityDialog`, typing the digits. Each test asserts what a
person sees (sentences) and what changed in the workspace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QDockWidget, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from storage import audit, cases, key_trust, queries
from storage.digest import state_digest
from storage.keyfile import FAST_INSECURE_KDF
from storage.workspace import Workspace
from sync import peers, trust
from sync.cards import ContactCard
from tests.conftest import PASSPHRASE
from tests.sync import conftest as sync_fixtures
from tests.sync.conftest import Network
from ui.dialogs.create_workspace import CreateWorkspaceDialog
from ui.dialogs.trust_dialogs import AuthorityDialog, DecisionDialog
from ui.main_window import MainWindow
from ui.models.revocation_model import RevocationModel
from ui.peers_view import PeersView
from ui.prompts import ScriptedPrompts
from ui.tasks import TaskRunner
from ui.trust_view import NO_AUTHORITY, NOTHING_REVOKED, TrustView

installation_templates = sync_fixtures.installation_templates
network = sync_fixtures.network

NGO = "Varosa Documentation Project"
KABORA = "Kabora field office"


def short(fingerprint: str) -> str:
    """The first two groups of a fingerprint, as the view shows them."""
    return " ".join(fingerprint.split()[:2]) + "…"


def ngo_says_kabora_is_stolen(network: Network) -> tuple[str, int]:
    """A case of Kabora's at the liaison, then the NGO's revocation of Kabora's key after
    its newest change, imported at the liaison as an advisory. Returns the statement's
    changeset id and that change number (the case is the only one in Kabora's list)."""
    case_id = cases.add_case(network.ws["kabora"], "Shelling of the market", "start")
    network.share("kabora", case_id, "liaison")
    assert network.send("kabora", "liaison").status == "imported"
    _, last = trust.last_seq_of(network.ws["liaison"], network.ws["kabora"].origin)
    cs_id = trust.revoke_peer(network.ws["ngo"], network.peer("ngo", "kabora"), last, "stolen")
    assert network.send("ngo", "liaison").status == "imported"
    return cs_id, last


@dataclass
class Decisions:
    """Plays a person at the real DecisionDialog: reads it, types `reasons` in turn (the
    accept button must be enabled for the last one only) and clicks the accept button,
    or Cancel when `accept` is False."""

    qtbot: QtBot
    accept: bool = True
    reasons: list[str] = field(default_factory=list)
    seen: list[DecisionDialog] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __call__(
        self, parent: QWidget, title: str, text: str, accept_text: str, with_reason: bool
    ) -> str | None:
        dialog = DecisionDialog(title, text, accept_text, parent, with_reason=with_reason)
        self.qtbot.addWidget(dialog)
        dialog.show()
        self.seen.append(dialog)
        assert dialog.reason_edit.isVisible() == with_reason
        for reason in self.reasons:
            dialog.reason_edit.clear()
            self.qtbot.keyClicks(dialog.reason_edit, reason)
            if not dialog.accept_button.isEnabled():
                assert dialog.problem_label.isVisible()
                self.problems.append(dialog.problem_label.text())
        button = dialog.accept_button if self.accept else dialog.cancel_button
        self.qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        return dialog.reason() if dialog.result() == QDialog.DialogCode.Accepted else None


@dataclass
class DigitsTyped:
    """Plays a person at the real AuthorityDialog: types each of `typed` in turn and
    clicks Name as authority (None: Cancel); the dialog stays open while they are wrong."""

    qtbot: QtBot
    typed: list[str | None]
    seen: list[AuthorityDialog] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __call__(self, parent: QWidget, card: ContactCard, ours: str) -> str | None:
        dialog = AuthorityDialog(card, ours, parent)
        self.qtbot.addWidget(dialog)
        dialog.show()
        self.seen.append(dialog)
        assert not dialog.name_button.isEnabled()  # nothing typed yet
        for text in self.typed:
            if text is None:
                dialog.reject()
                break
            dialog.digits_edit.clear()
            self.qtbot.keyClicks(dialog.digits_edit, text)
            if not text.strip():
                assert not dialog.name_button.isEnabled()  # nothing to check
                continue
            self.qtbot.mouseClick(dialog.name_button, Qt.MouseButton.LeftButton)
            if dialog.result() == QDialog.DialogCode.Accepted:
                break
            assert dialog.isVisible() and dialog.problem_label.isVisible()
            self.problems.append(dialog.problem_label.text())
        return dialog.digits() if dialog.result() == QDialog.DialogCode.Accepted else None


def make_view(
    qtbot: QtBot,
    ws: Workspace,
    prompts: ScriptedPrompts | None = None,
    decisions: Decisions | None = None,
    digits: DigitsTyped | None = None,
    card_file: Path | None = None,
) -> TrustView:
    view = TrustView(
        ws,
        prompts=prompts or ScriptedPrompts(),
        choose_open=lambda _parent, _caption: card_file,
        ask_decision=decisions or Decisions(qtbot, accept=False),
        ask_digits=digits or DigitsTyped(qtbot, [None]),
    )
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    return view


def column(view: TrustView, col: int) -> list[str]:
    return [view.model.index(row, col).data() for row in range(view.model.rowCount())]


def actions(ws: Workspace) -> list[str]:
    return [e.action for e in audit.entries(ws.conn, limit=1000)]


# -- what a person reads ----------------------------------------------------------------------


def test_an_advisory_is_listed_first_in_words_with_both_short_fingerprints(
    qtbot: QtBot, network: Network
) -> None:
    cs_id, last = ngo_says_kabora_is_stolen(network)
    liaison = network.ws["liaison"]
    view = make_view(qtbot, liaison)
    ModelTester(None).check(view.model, force_py=True)  # type: ignore[no-untyped-call]

    ngo = f"{NGO} (ngo, {short(network.peer('liaison', 'ngo').fingerprint)})"
    kabora = f"{KABORA} (office, {short(network.peer('liaison', 'kabora').fingerprint)})"
    assert view.summary_label.text().startswith(
        "1 revocation waits for your decision: an office that is not an authority here"
    )
    assert column(view, RevocationModel.KEY_OF) == [f"{KABORA} (office)"]
    assert column(view, RevocationModel.STATUS) == ["Waits for your decision"]
    assert column(view, RevocationModel.SIGNED_BY) == [f"{NGO} (ngo)"]
    assert column(view, RevocationModel.ACCEPTED_UP_TO) == [f"its change {last}"]
    assert column(view, RevocationModel.REASON) == ["stolen"]
    shown = view.selected()
    assert shown is not None and shown.entry.statement_id.startswith(cs_id)
    assert view.details_label.text() == (
        f"{ngo} says the key of {kabora} is lost or compromised, and that nothing it signed"
        f" after its change {last} should be accepted. {NGO} is not an authority here, so"
        " this changes nothing until you decide: Confirm signs the same revocation as this"
        " office; Dismiss sets it aside. Reason given: “stolen”."
    )
    tip = view.model.index(0, RevocationModel.KEY_OF).data(Qt.ItemDataRole.ToolTipRole)
    assert "says the key of" in tip and ngo in tip and kabora in tip  # both fingerprints
    assert view.confirm_button.isEnabled() and view.dismiss_button.isEnabled()
    assert not view.retract_button.isEnabled()
    assert view.authorities_label.text() == NO_AUTHORITY
    assert not view.authorities_list.isVisible()


def test_nothing_revoked_says_so(qtbot: QtBot, network: Network) -> None:
    view = make_view(qtbot, network.ws["kabora"])
    assert view.model.rowCount() == 0
    assert view.summary_label.text() == NOTHING_REVOKED
    assert not view.details_label.isVisible()
    for button in (view.confirm_button, view.dismiss_button, view.retract_button):
        assert not button.isEnabled()


# -- deciding -----------------------------------------------------------------------------------


def test_confirm_says_what_it_does_signs_our_revocation_and_it_syncs(
    qtbot: QtBot, network: Network
) -> None:
    cs_id, last = ngo_says_kabora_is_stolen(network)
    liaison, kabora = network.ws["liaison"], network.ws["kabora"]
    decisions = Decisions(qtbot)
    view = make_view(qtbot, liaison, decisions=decisions)

    with qtbot.waitSignal(view.changed, timeout=2000):
        qtbot.mouseClick(view.confirm_button, Qt.MouseButton.LeftButton)

    [dialog] = decisions.seen
    assert dialog.windowTitle() == "Confirm a revocation — Valise"
    text = dialog.text_label.text()
    assert f"nothing will be sent to {KABORA} any more, and its changes after its change" in text
    assert f"after its change {last} will be held back" in text
    # The advisory is confirmed, our own revocation is in effect, and Kabora is revoked.
    assert sorted(column(view, RevocationModel.STATUS)) == ["Confirmed by this office", "In effect"]
    assert view.summary_label.text().startswith("No revocation waits for your decision.")
    assert view.message_label.text().startswith("Confirmed: this office signed the revocation")
    assert network.peer("liaison", "kabora").revoked_after == last
    assert "revocation confirmed" in actions(liaison)
    ours = next(e for e in trust.revocation_entries(liaison) if e.signer == liaison.origin)
    assert ours.status == "effective"
    selected = view.selected()
    assert selected is not None and selected.entry.statement_id.startswith(cs_id)
    assert not view.confirm_button.isEnabled()

    # Kabora's next change is held back at the liaison: its bundle is refused.
    [case] = queries.list_cases(kabora.conn)
    cases.update_case(kabora, case.id, summary="after the confirmation")
    report = network.send("kabora", "liaison")
    assert report.status == "refused" and f"revoked after its changeset {last}" in report.message

    # Like the command's, our revocation goes out with the next bundle: Dressa, which names
    # the liaison as its authority, now refuses Kabora's key after the same change.
    liaison_at_dressa = network.peer("dressa", "liaison")
    trust.name_authority(
        network.ws["dressa"], liaison_at_dressa.peer_id, liaison_at_dressa.fingerprint
    )
    assert network.send("liaison", "dressa").status == "imported"
    assert network.peer("dressa", "kabora").revoked_after == last


def test_cancelling_a_decision_changes_nothing(qtbot: QtBot, network: Network) -> None:
    ngo_says_kabora_is_stolen(network)
    liaison = network.ws["liaison"]
    before = (state_digest(liaison.conn), actions(liaison))
    decisions = Decisions(qtbot, accept=False)
    view = make_view(qtbot, liaison, decisions=decisions)
    qtbot.mouseClick(view.confirm_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(view.dismiss_button, Qt.MouseButton.LeftButton)
    assert len(decisions.seen) == 2
    assert (state_digest(liaison.conn), actions(liaison)) == before
    assert column(view, RevocationModel.STATUS) == ["Waits for your decision"]
    assert network.peer("liaison", "kabora").revoked_after is None


def test_dismiss_sets_the_advisory_aside_and_nothing_changes(
    qtbot: QtBot, network: Network
) -> None:
    ngo_says_kabora_is_stolen(network)
    liaison = network.ws["liaison"]
    before = state_digest(liaison.conn)
    decisions = Decisions(qtbot)
    view = make_view(qtbot, liaison, decisions=decisions)

    with qtbot.waitSignal(view.changed, timeout=2000):
        qtbot.mouseClick(view.dismiss_button, Qt.MouseButton.LeftButton)

    text = decisions.seen[0].text_label.text()
    assert f"Nothing changes: {KABORA} stays trusted here" in text
    assert column(view, RevocationModel.STATUS) == ["Set aside"]
    assert "It was set aside here and changes nothing." in view.details_label.text()
    assert view.message_label.text().startswith(f"Set aside: the key of {KABORA}")
    assert not view.confirm_button.isEnabled() and not view.dismiss_button.isEnabled()
    assert state_digest(liaison.conn) == before  # no signed statement: nothing replicated
    assert key_trust.current(liaison.conn).revocations == {}
    assert "revocation dismissed" in actions(liaison)


def test_retract_is_offered_for_our_own_revocation_only_and_checks_the_reason(
    qtbot: QtBot, network: Network
) -> None:
    cs_id, _ = ngo_says_kabora_is_stolen(network)
    liaison = network.ws["liaison"]
    ours = trust.confirm_advisory(liaison, cs_id[:12])
    decisions = Decisions(qtbot, reasons=["x" * 201, "found in the office safe"])
    view = make_view(qtbot, liaison, decisions=decisions)
    assert view.select_statement(f"{cs_id}:0")  # the NGO's: no authority of ours to retract
    assert not view.retract_button.isEnabled()
    assert view.select_statement(f"{ours}:0")
    assert view.retract_button.isEnabled()

    with qtbot.waitSignal(view.changed, timeout=2000):
        qtbot.mouseClick(view.retract_button, Qt.MouseButton.LeftButton)

    assert decisions.problems == [
        "The reason is 201 characters long; at most 200 can be recorded. Shorten it."
    ]
    assert "Offices that name this office as an authority follow" in (
        decisions.seen[0].text_label.text()
    )
    assert network.peer("liaison", "kabora").revoked_after is None
    retraction = next(e for e in trust.revocation_entries(liaison) if e.kind == "retract")
    assert retraction.reason == "found in the office safe"
    retracted = view.model.revocation(view.model.row_of(f"{ours}:0"))
    assert retracted is not None and retracted.status_text == "Retracted"
    assert view.message_label.text().startswith(f"Retracted: the key of {KABORA}")
    assert "revocation retracted" in actions(liaison)


# -- authorities -------------------------------------------------------------------------------


def test_naming_an_authority_checks_the_digits_and_its_revocation_then_counts(
    qtbot: QtBot, network: Network, tmp_path: Path
) -> None:
    dressa, liaison = network.ws["dressa"], network.ws["liaison"]
    # The liaison revokes Kabora's key; at Dressa, where it is no authority yet, an advisory.
    trust.revoke_peer(liaison, network.peer("liaison", "kabora"), 0, "laptop stolen")
    assert network.send("liaison", "dressa").status == "imported"
    card_file = tmp_path / "liaison.card"
    card_file.write_bytes(peers.card_bytes(liaison))
    real = liaison.fingerprint
    wrong = real[:-1] + ("0" if real[-1] != "0" else "1")
    typed = DigitsTyped(qtbot, ["12345 abcde", "", "- -", wrong, real])
    view = make_view(qtbot, dressa, digits=typed, card_file=card_file)
    assert column(view, RevocationModel.STATUS) == ["Waits for your decision"]
    before = state_digest(dressa.conn)

    with qtbot.waitSignal(view.changed, timeout=2000):
        qtbot.mouseClick(view.add_authority_button, Qt.MouseButton.LeftButton)

    [dialog] = typed.seen
    assert dialog.our_fingerprint_label.text() == dressa.fingerprint
    assert dialog.office_label.text() == "Tribunal liaison"
    assert real not in dialog.intro_label.text()  # typed as heard, never copied from the card
    assert "only the digits 0 to 9" in typed.problems[0]
    assert "No fingerprint was given" in typed.problems[1]
    assert "do not match the card of Tribunal liaison" in typed.problems[2]
    assert [a.origin for a in trust.list_authorities(dressa)] == [liaison.origin]
    assert "authority named" in actions(dressa)
    assert state_digest(dressa.conn) == before  # a local choice, not a replicated change
    [listed] = [view.authorities_list.item(i) for i in range(view.authorities_list.count())]
    assert listed.text() == f"Tribunal liaison: fingerprint {real}"
    assert listed.toolTip().startswith("Named here on ")
    assert view.message_label.text().startswith("Tribunal liaison is named as an authority")
    # The liaison's revocation now counts at Dressa without asking anyone.
    assert column(view, RevocationModel.STATUS) == ["In effect"]
    assert network.peer("dressa", "kabora").revoked_after == 0


def _garbage_files(tmp_path: Path, network: Network) -> dict[str, tuple[Path, str]]:
    """Files that are no card to name, and the sentence each must give."""
    empty = tmp_path / "empty.card"
    empty.write_bytes(b"")
    noise = tmp_path / "noise.card"
    noise.write_bytes(bytes(range(256)) * 4)
    json_not_card = tmp_path / "other.card"
    json_not_card.write_text('{"office_name": "Tribunal liaison"}')
    folder = tmp_path / "a-folder.card"
    folder.mkdir()
    own = tmp_path / "own.card"
    own.write_bytes(peers.card_bytes(network.ws["dressa"]))
    return {
        "empty": (empty, "is empty: it is not a contact card"),
        "noise": (noise, "is not a usable contact card"),
        "json": (json_not_card, "is not a usable contact card"),
        "folder": (folder, "is not a contact card; choose the card file itself"),
        "own": (own, "That is this office's own contact card"),
    }


def test_garbage_card_files_and_our_own_card_are_refused_with_a_sentence(
    qtbot: QtBot, network: Network, tmp_path: Path
) -> None:
    dressa = network.ws["dressa"]
    before = (state_digest(dressa.conn), actions(dressa), trust.list_authorities(dressa))
    for name, (path, expected) in _garbage_files(tmp_path, network).items():
        prompts = ScriptedPrompts([None])
        typed = DigitsTyped(qtbot, [None])
        view = make_view(qtbot, dressa, prompts=prompts, digits=typed, card_file=path)
        qtbot.mouseClick(view.add_authority_button, Qt.MouseButton.LeftButton)
        [asked] = prompts.asked
        assert asked.kind == "warn" and expected in asked.text, (name, asked.text)
        assert asked.text.endswith("Nothing was changed."), name
        assert typed.seen == [], name  # no digits asked for a card that cannot be named
    assert (state_digest(dressa.conn), actions(dressa), trust.list_authorities(dressa)) == before


def test_cancelling_the_digits_or_the_file_names_nobody(
    qtbot: QtBot, network: Network, tmp_path: Path
) -> None:
    dressa = network.ws["dressa"]
    card_file = tmp_path / "liaison.card"
    card_file.write_bytes(peers.card_bytes(network.ws["liaison"]))
    typed = DigitsTyped(qtbot, ["00000", None])
    view = make_view(qtbot, dressa, digits=typed, card_file=card_file)
    qtbot.mouseClick(view.add_authority_button, Qt.MouseButton.LeftButton)
    no_file = make_view(qtbot, dressa, card_file=None)
    qtbot.mouseClick(no_file.add_authority_button, Qt.MouseButton.LeftButton)
    assert trust.list_authorities(dressa) == []
    assert "authority named" not in actions(dressa)


# -- in the window -----------------------------------------------------------------------------


def test_the_status_bar_says_an_advisory_waits_and_opens_the_view(
    qtbot: QtBot, network: Network, runner: TaskRunner
) -> None:
    ngo_says_kabora_is_stolen(network)
    liaison = network.ws["liaison"]
    window = MainWindow(liaison, prompts=ScriptedPrompts(), runner=runner)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    notice = window.revocation_notice
    assert notice.isVisible()
    assert notice.text() == "1 revocation waits for your decision (Ctrl+Shift+T)"
    assert window.trust_action.shortcut() == QKeySequence("Ctrl+Shift+T")
    sync_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Sync")
    assert window.trust_action in sync_menu.actions()

    qtbot.mouseClick(notice, Qt.MouseButton.LeftButton)
    docks = [d for d in window.findChildren(QDockWidget) if d.windowTitle() == "Trust"]
    qtbot.waitUntil(lambda: sum(shiboken6.isValid(d) and d.isVisible() for d in docks) == 1)
    view = window._docks["trust"].widget()
    assert isinstance(view, TrustView)
    window.trust_action.trigger()  # a second time replaces the view, does not stack
    qtbot.waitUntil(lambda: window._docks["trust"].widget() is not view)
    view = window._docks["trust"].widget()
    assert isinstance(view, TrustView)

    # A decision in the view updates the notice: nothing waits any more.
    view._ask_decision = Decisions(qtbot)
    qtbot.mouseClick(view.dismiss_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not notice.isVisible())

    window.lock()
    assert not notice.isVisible()
    window.shutdown()


def test_a_key_revoked_in_the_peers_view_is_listed_in_the_open_trust_view(
    qtbot: QtBot, network: Network, runner: TaskRunner
) -> None:
    kabora = network.ws["kabora"]
    prompts = ScriptedPrompts(["0", "laptop stolen", True])
    window = MainWindow(kabora, prompts=prompts, runner=runner)
    qtbot.addWidget(window)
    window.show()
    window.trust_action.trigger()
    window.peers_action.trigger()
    trust_view, peers_view = window._docks["trust"].widget(), window._docks["peers"].widget()
    assert isinstance(trust_view, TrustView) and trust_view.model.rowCount() == 0
    assert isinstance(peers_view, PeersView)
    assert peers_view.select_peer(network.ws["dressa"].origin)
    qtbot.mouseClick(peers_view.revoke_button, Qt.MouseButton.LeftButton)
    assert column(trust_view, RevocationModel.KEY_OF) == ["Dressa field office (office)"]
    assert column(trust_view, RevocationModel.SIGNED_BY) == [f"{KABORA} (this office)"]
    assert trust_view.retract_button.isEnabled()  # ours: this office may retract it
    assert not window.revocation_notice.isVisible()  # ours is no advisory
    window.shutdown()


# -- naming the authority when the office is set up ------------------------------------------


def first_run(
    qtbot: QtBot, root: Path, runner: TaskRunner, card_file: Path | None, digits: DigitsTyped
) -> CreateWorkspaceDialog:
    dialog = CreateWorkspaceDialog(
        root,
        kdf=FAST_INSECURE_KDF,
        runner=runner,
        choose_card=lambda _parent, _caption: card_file,
        ask_digits=digits,
    )
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.office_name_edit, "Mirani field office")
    qtbot.keyClicks(dialog.user_name_edit, "Amina")
    qtbot.keyClicks(dialog.passphrase_edit, PASSPHRASE)
    qtbot.keyClicks(dialog.repeat_edit, PASSPHRASE)
    return dialog


def test_the_first_run_names_an_authority_once_its_digits_match(
    qtbot: QtBot, network: Network, runner: TaskRunner, tmp_path: Path
) -> None:
    liaison = network.ws["liaison"]
    card_file = tmp_path / "liaison.card"
    card_file.write_bytes(peers.card_bytes(liaison))
    real = liaison.fingerprint
    wrong = real[:-1] + ("0" if real[-1] != "0" else "1")
    typed = DigitsTyped(qtbot, [wrong, real])
    dialog = first_run(qtbot, tmp_path / "mirani", runner, card_file, typed)
    assert dialog.authority_label.text().startswith("None (optional)")

    qtbot.mouseClick(dialog.authority_button, Qt.MouseButton.LeftButton)

    [asked] = typed.seen
    assert not asked.our_fingerprint_label.isVisible()  # no keys yet: none to read out
    assert "do not match the card of Tribunal liaison" in typed.problems[0]
    assert dialog.authority_label.text().startswith(
        f"Tribunal liaison ({short(real)}): its digits match"
    )
    with qtbot.waitSignal(dialog.created, timeout=30_000) as created:
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    ws = created.args[0]
    try:
        assert [a.origin for a in trust.list_authorities(ws)] == [liaison.origin]
        assert "authority named" in actions(ws)
    finally:
        ws.close()


def test_the_first_run_refuses_a_garbage_card_and_creates_without_an_authority(
    qtbot: QtBot, network: Network, runner: TaskRunner, tmp_path: Path
) -> None:
    noise = tmp_path / "noise.card"
    noise.write_bytes(b"\x00\xff not a card at all")
    typed = DigitsTyped(qtbot, [None])
    dialog = first_run(qtbot, tmp_path / "mirani", runner, noise, typed)
    qtbot.mouseClick(dialog.authority_button, Qt.MouseButton.LeftButton)
    assert typed.seen == []
    assert "is not a usable contact card" in dialog.message()
    assert dialog.authority is None
    with qtbot.waitSignal(dialog.created, timeout=30_000) as created:
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    ws = created.args[0]
    try:
        assert trust.list_authorities(ws) == []
    finally:
        ws.close()


def test_an_advisory_about_our_own_key_can_be_dismissed_but_not_confirmed(
    qtbot: QtBot, network: Network
) -> None:
    kabora = network.ws["kabora"]
    trust.revoke_peer(network.ws["ngo"], network.peer("ngo", "kabora"), 0, "stolen")
    network.send("ngo", "liaison")
    network.send("liaison", "kabora")
    view = make_view(qtbot, kabora)
    assert column(view, RevocationModel.KEY_OF) == [f"{KABORA} (this office)"]
    assert column(view, RevocationModel.STATUS) == ["Waits for your decision"]
    assert "this office's own key" in view.details_label.text()
    assert "cannot be confirmed here" in view.details_label.text()
    assert not view.confirm_button.isEnabled()
    assert view.dismiss_button.isEnabled()
    assert view.summary_label.text().startswith("1 revocation waits for your decision")


def test_an_advisory_withdrawn_by_its_own_signer_waits_for_nobody(
    qtbot: QtBot, network: Network
) -> None:
    """The NGO revokes Kabora's key, then retracts it: at the liaison, where the NGO is no
    authority, the revocation was only an advisory, and its signer withdrew it. Nothing
    waits for a decision any more; neither row can be confirmed, dismissed or retracted."""
    cs_id, _ = ngo_says_kabora_is_stolen(network)
    ngo, liaison = network.ws["ngo"], network.ws["liaison"]
    retraction = trust.retract_revocation(ngo, cs_id[:12], "found again")
    assert network.send("ngo", "liaison").status == "imported"
    assert trust.advisories_waiting(liaison) == 0
    view = make_view(qtbot, liaison)
    assert view.model.waiting == 0
    assert view.select_statement(f"{retraction}:0")
    shown = view.selected()
    assert shown is not None and not shown.is_advisory
    assert shown.status_text == f"Retraction of {cs_id[:12]}: in effect"
    assert "The revocation counts no more here." in view.details_label.text()
    for button in (view.confirm_button, view.dismiss_button, view.retract_button):
        assert not button.isEnabled()
    assert view.select_statement(f"{cs_id}:0")
    withdrawn = view.selected()
    assert withdrawn is not None and withdrawn.status_text == "Retracted"
    for button in (view.confirm_button, view.dismiss_button, view.retract_button):
        assert not button.isEnabled()


def test_a_retraction_by_an_office_that_is_no_authority_waits_for_nobody(
    qtbot: QtBot, network: Network
) -> None:
    """The NGO revokes Kabora's key; Dressa, no authority at the liaison, retracts it. The
    revocation still waits for a decision there; the retraction is only listed (nobody
    can confirm or dismiss a retraction)."""
    cs_id, _ = ngo_says_kabora_is_stolen(network)
    dressa, liaison = network.ws["dressa"], network.ws["liaison"]
    network.send("liaison", "dressa")
    retraction = trust.retract_revocation(dressa, cs_id[:12], "found again")
    assert network.send("dressa", "liaison").status == "imported"
    assert trust.advisories_waiting(liaison) == 1
    view = make_view(qtbot, liaison)
    assert view.model.waiting == 1
    assert view.select_statement(f"{retraction}:0")
    shown = view.selected()
    assert shown is not None and not shown.is_advisory
    assert shown.status_text == (
        f"Retraction of {cs_id[:12]}: not counted, its signer is no authority here"
    )
    assert "Its signer is no authority here, so it changes nothing here." in (
        view.details_label.text()
    )
    for button in (view.confirm_button, view.dismiss_button, view.retract_button):
        assert not button.isEnabled()
