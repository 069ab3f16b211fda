"""A partner's own window refuses at once, with a sentence, an edit the offices would hold
back (sync.authority.check_own_commits), instead of recording it to be held back later."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from storage import cases, queries
from storage.records import Note
from sync.authority import check_own_commits
from tests.sync import conftest as sync_fixtures
from tests.sync.conftest import Network
from tests.ui.test_case_view import make_view, notes
from ui.prompts import ScriptedPrompts
from ui.tasks import TaskRunner

installation_templates = sync_fixtures.installation_templates
network = sync_fixtures.network


def test_a_partner_editing_an_office_note_is_refused_in_the_window(
    qtbot: QtBot, network: Network, runner: TaskRunner
) -> None:
    kabora, ngo = network.ws["kabora"], network.ws["ngo"]
    case_id = cases.add_case(kabora, "Shelling of the Varosa market")
    note_id = cases.add_note(kabora, case_id, "Interview planned for Tuesday")
    network.share("kabora", case_id, "ngo")
    assert network.send("kabora", "ngo").status == "imported"
    check_own_commits(ngo)  # as the window's unlock does
    written = ngo.conn.execute("SELECT count(*) FROM changesets").fetchone()[0]
    prompts = ScriptedPrompts()
    view = make_view(qtbot, ngo, case_id, prompts, runner)
    tab = notes(view)
    assert tab.select_note(note_id)
    tab.ask_note_edit = lambda _parent, _note: {"text": "Interview cancelled"}

    with qtbot.waitSignal(tab.busy, timeout=5000, check_params_cb=lambda busy: not busy):
        qtbot.mouseClick(tab.edit_button, Qt.MouseButton.LeftButton)

    assert [a.kind for a in prompts.asked] == ["warn"]
    assert re.search(
        r"Not saved: Varosa Documentation Project \(ngo, \d{5}…\) may not change a note it"
        r" did not create in case .*; a partner organisation changes only the records it"
        r" added\. The offices would hold this change back",
        prompts.asked[0].text,
    ), prompts.asked[0].text
    assert queries.get(ngo.conn, Note, note_id).text == "Interview planned for Tuesday"
    assert ngo.conn.execute("SELECT count(*) FROM changesets").fetchone()[0] == written
    # Its own note it may still add and change.
    own = cases.add_note(ngo, case_id, "Seen at the checkpoint")
    cases.update_record(ngo, Note, own, text="Seen at the checkpoint at noon")
    assert queries.get(ngo.conn, Note, own).text == "Seen at the checkpoint at noon"
