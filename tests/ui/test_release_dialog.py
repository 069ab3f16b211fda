"""Release… in the Evidence tab, and the share dialog's words: real widgets on a real
workspace, the dialogs driven with qtbot as a person would (choose a peer, tick a box,
press Release), the work on the tab's worker."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from storage import queries
from storage.consent import consent_history, current_consent, record_consent
from storage.records import Evidence, Person
from storage.releases import releases_of
from storage.workspace import Workspace
from tests.sync.test_releases import add_peer_of_role, add_witness_statement
from tests.ui.test_case_view import make_view, persons
from tests.ui.test_persons_notes_edit import PersonPlayer, edit_and_wait, retype
from ui.case_tabs.evidence import EvidenceTab
from ui.case_tabs.overview import ChoosePeerDialog
from ui.dialogs.person_form import EditPersonDialog
from ui.dialogs.release_form import ReleaseChoice, ReleaseDialog, ReleaseTarget
from ui.prompts import ScriptedPrompts
from ui.tasks import TaskRunner

WAIT_MS = 60_000


@pytest.fixture
def statement(ws: Workspace, tmp_path: Path) -> tuple[str, str]:
    """(person id, evidence id): witness W-0500 and her statement, linked."""
    _case_id, person_id, evidence_id = add_witness_statement(ws, tmp_path)
    return person_id, evidence_id


@pytest.fixture
def tab_for(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner, statement: tuple[str, str]
) -> Iterator[list[EvidenceTab]]:
    made: list[EvidenceTab] = []
    yield made
    for tab in made:
        qtbot.waitUntil(lambda tab=tab: tab.is_idle, timeout=WAIT_MS)


def _tab(
    qtbot: QtBot,
    ws: Workspace,
    runner: TaskRunner,
    evidence_id: str,
    made: list[EvidenceTab],
    prompts: ScriptedPrompts,
    **askers: object,
) -> EvidenceTab:
    case_id = queries.get(ws.conn, Evidence, evidence_id).case_id
    tab = EvidenceTab(ws, case_id, prompts=prompts, runner=runner, **askers)  # type: ignore[arg-type]
    qtbot.addWidget(tab)
    tab.show()
    made.append(tab)
    qtbot.waitUntil(lambda: tab.is_idle and tab.model.rowCount() == 1, timeout=WAIT_MS)
    assert tab.select(evidence_id)
    qtbot.waitUntil(lambda: tab.is_idle and tab.details is not None, timeout=WAIT_MS)
    return tab


def _play_release_dialog(qtbot: QtBot, play: object) -> None:
    """Once the Release dialog is up, let `play(dialog)` work it as a person would."""

    def find() -> None:
        dialog = next(
            (w for w in QApplication.topLevelWidgets() if isinstance(w, ReleaseDialog)), None
        )
        if dialog is None or not dialog.isVisible():
            QTimer.singleShot(20, find)
            return
        play(dialog)  # type: ignore[operator]

    QTimer.singleShot(0, find)


def test_release_dialog_releases_to_the_chosen_ngo_and_records_custody(
    qtbot: QtBot,
    ws: Workspace,
    runner: TaskRunner,
    statement: tuple[str, str],
    tab_for: list[EvidenceTab],
) -> None:
    person_id, evidence_id = statement
    record_consent(ws, person_id, "partners", "given", decided_by="N. Tesh")
    ngo = add_peer_of_role(ws, "Varosa Documentation Project", "ngo")
    add_peer_of_role(ws, "Dressa field office", "office")
    tab = _tab(qtbot, ws, runner, evidence_id, tab_for, ScriptedPrompts())
    seen: dict[str, object] = {}

    def play(dialog: ReleaseDialog) -> None:
        labels = [dialog.target_combo.itemText(i) for i in range(dialog.target_combo.count())]
        seen["labels"] = labels
        seen["enabled_before"] = dialog.release_button.isEnabled()
        dialog.set_target(ngo.peer_id)
        seen["without"] = dialog.withheld_label.text()
        qtbot.keyClick(dialog.file_name_box, Qt.Key.Key_Space)  # as a keyboard user ticks it
        seen["with"] = dialog.receives_label.text()
        qtbot.mouseClick(dialog.release_button, Qt.MouseButton.LeftButton)

    _play_release_dialog(qtbot, play)
    with qtbot.waitSignal(tab.changed, timeout=WAIT_MS):
        qtbot.mouseClick(tab.release_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.is_idle, timeout=WAIT_MS)

    assert seen["labels"] == [
        "Varosa Documentation Project (ngo)",
        "Every NGO peer",
        "Every defence peer",
    ]  # the office is not offered: it receives everything anyway
    assert seen["enabled_before"] is False
    assert "the original file name (they see the ERN instead)" in str(seen["without"])
    assert "legal elements" in str(seen["without"])
    assert "under its original name “statement-mirela-dontcheva.txt”" in str(seen["with"])
    (release,) = releases_of(ws.conn, evidence_id)
    assert (release.grantee_origin, release.with_file_name) == (ngo.origin, 1)
    events = [tab.timeline.item(row, 1).text() for row in range(tab.timeline.rowCount())]
    assert events == ["collected", "released"]
    assert "Released" in tab.status_label.text()


def test_release_dialog_shows_the_consent_refusal_and_keeps_release_disabled(
    qtbot: QtBot,
    ws: Workspace,
    runner: TaskRunner,
    statement: tuple[str, str],
    tab_for: list[EvidenceTab],
) -> None:
    person_id, evidence_id = statement
    record_consent(ws, person_id, "partners", "refused", decided_by="N. Tesh")
    add_peer_of_role(ws, "Varosa Documentation Project", "ngo")
    tab = _tab(qtbot, ws, runner, evidence_id, tab_for, ScriptedPrompts())
    seen: dict[str, object] = {}

    def play(dialog: ReleaseDialog) -> None:
        dialog.set_target("ngo")
        seen["blocked"] = dialog.blocked_label.text()
        seen["enabled"] = dialog.release_button.isEnabled()
        dialog.accept()  # Enter, or a script: refused all the same
        seen["open"] = dialog.isVisible()
        qtbot.mouseClick(dialog.buttons.buttons()[-1], Qt.MouseButton.LeftButton)  # Cancel

    _play_release_dialog(qtbot, play)
    qtbot.mouseClick(tab.release_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.is_idle and "blocked" in seen, timeout=WAIT_MS)

    assert "W-0500 has refused to be identified to partners" in str(seen["blocked"])
    assert "Mirela" not in str(seen["blocked"])
    assert seen["enabled"] is False and seen["open"] is True
    assert releases_of(ws.conn, evidence_id) == []


def test_a_refusal_found_while_recording_is_a_warning(
    qtbot: QtBot,
    ws: Workspace,
    runner: TaskRunner,
    statement: tuple[str, str],
    tab_for: list[EvidenceTab],
) -> None:
    """Consent is checked again when the release is recorded: a decision recorded between
    opening the dialog and pressing Release still stops it."""
    _person_id, evidence_id = statement
    prompts = ScriptedPrompts()

    def ask(
        _parent: QWidget, _item: Evidence, _targets: Sequence[ReleaseTarget], _blocked: str
    ) -> ReleaseChoice:
        return ReleaseChoice("defence", False)  # as if consent had been given meanwhile

    tab = _tab(qtbot, ws, runner, evidence_id, tab_for, prompts, ask_release=ask)
    assert tab.release_selected()
    qtbot.waitUntil(lambda: tab.is_idle and bool(prompts.asked), timeout=WAIT_MS)
    (warning,) = prompts.asked
    assert warning.kind == "warn"
    assert "W-0500 has not consented to be identified to partners" in warning.text
    assert releases_of(ws.conn, evidence_id) == []


def test_share_dialog_says_what_a_restricted_peer_will_and_will_not_receive(
    qtbot: QtBot, ws: Workspace
) -> None:
    ngo = add_peer_of_role(ws, "Varosa Documentation Project", "ngo")
    liaison = add_peer_of_role(ws, "Tribunal liaison", "liaison")
    dialog = ChoosePeerDialog([ngo, liaison])
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.receives_label.text() == ""

    dialog.set_peer(ngo.origin)
    will, will_not = dialog.receives_label.text(), dialog.withheld_label.text()
    assert "only the evidence items released to it" in will and "pseudonym" in will
    assert "legal elements and links" in will_not and "privileged notes" in will_not

    dialog.peer_combo.setCurrentIndex(dialog.peer_combo.findData(liaison.origin))
    assert dialog.receives_label.text().startswith("Will receive: Everything of the case")
    assert "Privileged notes" in dialog.withheld_label.text()


def test_consent_is_shown_and_recorded_in_the_person_form(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner, statement: tuple[str, str]
) -> None:
    """The person's form shows the consent standing per audience (unknown where nothing is
    recorded) and records a changed decision as a signed statement, with the other edits."""
    person_id, _evidence_id = statement
    record_consent(ws, person_id, "tribunal", "given", decided_by="N. Tesh")
    case_id = queries.get(ws.conn, Evidence, _evidence_id).case_id
    view = make_view(qtbot, ws, case_id, ScriptedPrompts(), runner)
    tab = persons(view)
    shown: dict[str, str] = {}

    def act(form: EditPersonDialog) -> None:
        shown.update({a: str(c.currentData()) for a, c in form.consent_combos.items()})
        form.set_consent("partners", "refused")
        retype(qtbot, form.edits["languages"], "Varosan, French")

    tab.ask_person_edit = PersonPlayer(qtbot, act)
    edit_and_wait(qtbot, view, tab)

    assert shown == {
        "prosecution": "unknown",
        "tribunal": "given",
        "partners": "unknown",
        "public": "unknown",
    }
    standing = current_consent(ws.conn, person_id)
    assert standing["partners"].decision == "refused"
    assert standing["tribunal"].decision == "given"  # untouched decisions are not rewritten
    assert len(consent_history(ws.conn, person_id)) == 2
    assert queries.get(ws.conn, Person, person_id).languages == "Varosan, French"
