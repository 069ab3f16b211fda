"""The Persons tab follows storage.roles: only a protection officer may reveal.

Real tabs on a real workspace with a supervisor and an investigator. For a user who may not
reveal, the Reveal identity… button is disabled and its tooltip says who may; and should a
reveal be attempted anyway, the refusal reaches the person as its sentence (a warning, not
a bug report) and nothing is shown.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from storage import audit, users
from storage.cases import REVEAL_ACTION, add_case, add_person
from storage.records import CaseId
from storage.workspace import Workspace, open_workspace
from tests.conftest import PASSPHRASE
from tests.ui.test_persons_notes_edit import PersonPlayer
from ui.case_tabs.persons import PersonsTab
from ui.prompts import Asked, ScriptedPrompts
from ui.tasks import TaskRunner

WITNESS_NAME = "Amina Okonkwo-Varel"
INVESTIGATOR_PASSPHRASE = "an investigator's own passphrase"
OFFICER_PASSPHRASE = "a protection officer's own passphrase"


@pytest.fixture
def office(workspace_dir: Path) -> tuple[Path, CaseId]:
    """The template office (its one user a supervisor) with an investigator, a protection
    officer, and a case with a protected witness."""
    with open_workspace(workspace_dir, PASSPHRASE) as ws:
        users.add_user(ws, "Ines", users.INVESTIGATOR, INVESTIGATOR_PASSPHRASE)
        users.add_user(ws, "Pia", users.PROTECTION_OFFICER, OFFICER_PASSPHRASE)
        case_id = add_case(ws, "Shelling of the Kabora market", reference="VAR-KAB-2027-0007")
        add_person(ws, case_id, "witness", name=WITNESS_NAME, protected=True)
    return workspace_dir, case_id


@pytest.fixture
def investigator(office: tuple[Path, CaseId]) -> Iterator[Workspace]:
    with open_workspace(office[0], INVESTIGATOR_PASSPHRASE, user="Ines") as ws:
        yield ws


def make_tab(
    qtbot: QtBot, ws: Workspace, case_id: CaseId, prompts: ScriptedPrompts, runner: TaskRunner
) -> PersonsTab:
    tab = PersonsTab(ws, case_id, prompts=prompts, runner=runner)
    qtbot.addWidget(tab)
    tab.show()
    qtbot.waitExposed(tab)
    return tab


def test_an_investigator_finds_reveal_identity_disabled_and_told_who_may(
    qtbot: QtBot,
    investigator: Workspace,
    office: tuple[Path, CaseId],
    runner: TaskRunner,
) -> None:
    tab = make_tab(qtbot, investigator, office[1], ScriptedPrompts(), runner)
    assert tab.selected_person() is not None and tab.selected_person().is_protected
    assert not tab.reveal_button.isEnabled()
    assert tab.reveal_button.toolTip() == "Only a protection officer may reveal identities."
    assert "Only a protection officer may reveal identities." in tab.identity_label.text()
    qtbot.mouseClick(tab.reveal_button, Qt.MouseButton.LeftButton)  # disabled: nothing
    assert WITNESS_NAME not in tab.identity_label.text()
    assert audit.entries(investigator.conn, action=REVEAL_ACTION) == []
    assert tab.edit_button.isEnabled() and tab.add_button.isEnabled()  # recording is theirs


def test_a_reveal_forced_past_the_disabled_button_is_refused_as_a_sentence(
    qtbot: QtBot,
    investigator: Workspace,
    office: tuple[Path, CaseId],
    runner: TaskRunner,
) -> None:
    """Storage refuses, whatever the window shows: the sentence is a warning, the attempt
    is audited, and the identity stays withheld."""
    prompts = ScriptedPrompts([True])
    tab = make_tab(qtbot, investigator, office[1], prompts, runner)
    tab.reveal_selected()  # as if the button were enabled
    assert prompts.asked[1:] == [
        Asked(
            "warn",
            "Reveal identity",
            "Ines is an investigator here; only a protection officer may reveal the identity"
            " of W-0001 in case VAR-KAB-2027-0007. Nothing changed, and the attempt is"
            " recorded in the audit log.",
        )
    ]
    assert WITNESS_NAME not in tab.identity_label.text()
    assert audit.entries(investigator.conn, limit=1)[0].action == "refused"
    assert audit.entries(investigator.conn, action=REVEAL_ACTION) == []


def test_a_protection_officer_may_reveal(
    qtbot: QtBot, office: tuple[Path, CaseId], runner: TaskRunner
) -> None:
    with open_workspace(office[0], OFFICER_PASSPHRASE, user="Pia") as ws:
        prompts = ScriptedPrompts([True])
        tab = make_tab(qtbot, ws, office[1], prompts, runner)
        assert tab.reveal_button.isEnabled()
        assert tab.reveal_button.toolTip() == "Shows the protected identity; the reveal is audited"
        qtbot.mouseClick(tab.reveal_button, Qt.MouseButton.LeftButton)
        assert WITNESS_NAME in tab.identity_label.text()
        assert [e.actor for e in audit.entries(ws.conn, action=REVEAL_ACTION)] == ["Pia"]
        tab.close()
        tab.deleteLater()


def test_an_investigator_lifting_a_protection_in_the_edit_form_is_told_who_may(
    qtbot: QtBot,
    investigator: Workspace,
    office: tuple[Path, CaseId],
    runner: TaskRunner,
) -> None:
    """The real Edit person form, saved on the worker: storage refuses, and the window
    says the sentence once (it already says that nothing changed)."""
    prompts = ScriptedPrompts([True])  # yes, remove the protection
    tab = make_tab(qtbot, investigator, office[1], prompts, runner)
    tab.ask_person_edit = PersonPlayer(qtbot, lambda form: form.set_protection("none"))
    changesets = investigator.conn.execute("SELECT count(*) FROM changesets").fetchone()[0]
    qtbot.mouseClick(tab.edit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(prompts.asked) == 2 and tab.add_button.isEnabled())
    assert prompts.asked[1] == Asked(
        "warn",
        "Edit person",
        "Ines is an investigator here; only a protection officer may change the protection"
        " of W-0001 from full to none. Nothing changed, and the attempt is recorded in the"
        " audit log.",
    )
    assert investigator.conn.execute("SELECT count(*) FROM changesets").fetchone()[0] == changesets
    assert tab.selected_person() is not None and tab.selected_person().is_protected
