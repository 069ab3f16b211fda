"""The real `valise` process on a real X display, driven by real keys and mouse clicks.

These are the tests that press Enter in a window the way a person does: through the X
server, to whatever window the window manager made active. The offscreen Qt tests call
slots or send events to widgets directly, and never saw that Enter in the passphrase field
quit Valise (issue 10). At each step the process must still run (not as a zombie) and show
exactly the windows a person would see; each step leaves a screenshot in
`tests/e2e/artifacts/<test>/`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from storage import audit, queries, throttle
from storage.keyfile import STANDARD_KDF
from storage.paths import WorkspacePaths
from storage.records import Case, Note
from storage.workspace import create_workspace, open_workspace
from tests.conftest import PASSPHRASE
from tests.e2e.steps import assert_windows
from tests.e2e.x11 import ValiseApp, XSession, wait_for

OFFICE = "Kabora field office"
CASE_TITLE = "Shelling of the Kabora market"
NOTE_TEXT = "Witness seen at the clinic on Tuesday"
WRONG = "not the passphrase at all"
FIRST_USER = "Amina"

CREATE = r"^Create a workspace — Valise$"
UNLOCK = r"^Unlock workspace — Valise$"
MAIN = rf"^{OFFICE} — Valise$"  # exactly: Qt must not add its own " — Valise"
NEW_CASE = r"^New case"
ADD_NOTE = r"^Add a note — Valise$"

Shot = Callable[[str], Path]


def unlock_with_enter(x: XSession, app: ValiseApp, passphrase: str = PASSPHRASE) -> None:
    app.wait_for_window(UNLOCK)
    x.type_text(passphrase)
    x.key("Return")


def quit_with_ctrl_q(x: XSession, app: ValiseApp) -> None:
    """Ctrl+Q in the main window: the process ends with 0 and the folder lock is free."""
    app.wait_for_window(MAIN)
    x.key("ctrl+q")
    assert app.wait_for_exit() == 0, app.output()
    assert "Traceback" not in app.output(), app.output()
    open_workspace(app.workspace, PASSPHRASE).close()  # the lock was released


def test_first_run_unlock_with_enter_open_a_case_add_a_note_lock_and_unlock_again(
    x_session: XSession, start_valise: Callable[[Path], ValiseApp], shot: Shot, tmp_path: Path
) -> None:
    x = x_session
    folder = tmp_path / "workspace"

    # First run: the office, your name, the passphrase twice, Enter.
    app = start_valise(folder)
    app.wait_for_window(CREATE)
    assert_windows(app, CREATE)
    shot("first-run")
    x.type_text(OFFICE)
    x.key("Tab", "Tab")  # past the optional office code
    x.type_text(FIRST_USER)
    x.key("Tab")
    x.type_text(PASSPHRASE)
    x.key("Tab")
    x.type_text(PASSPHRASE)
    shot("first-run-filled")
    x.key("Return")
    app.wait_for_window(MAIN)
    assert_windows(app, MAIN)
    assert WorkspacePaths(folder).looks_like_workspace()
    shot("created")

    # A case, from the keyboard: Ctrl+N, its title, Enter.
    x.key("ctrl+n")
    app.wait_for_window(NEW_CASE)
    x.type_text(CASE_TITLE)
    shot("new-case")
    x.key("Return")
    app.wait_until_gone(NEW_CASE)
    app.wait_for_window(MAIN)
    assert_windows(app, MAIN)
    shot("case-opened")
    quit_with_ctrl_q(x, app)
    shot("quit")

    # Start again: unlock with Enter.
    app = start_valise(folder)
    app.wait_for_window(UNLOCK)
    assert_windows(app, UNLOCK)
    shot("unlock")
    unlock_with_enter(x, app)
    app.wait_for_window(MAIN)
    assert_windows(app, MAIN)
    shot("unlocked")

    # Open the case with Enter (the case list has the focus), then add a note: Ctrl+Tab
    # twice to the Notes tab, Alt+A for "Add note…", a click into the text, the text,
    # Tab twice to "Add note" and Enter.
    x.key("Down", "Return")
    x.key("ctrl+Tab", "ctrl+Tab")
    x.key("alt+a")
    note_form = app.wait_for_window(ADD_NOTE)
    assert_windows(app, MAIN, ADD_NOTE)
    width, height = x.geometry(note_form)
    x.click(note_form, width // 2, height // 4)  # the text field fills the top of the form
    x.type_text(NOTE_TEXT)
    shot("note-typed")
    x.key("Tab", "Tab", "Return")
    app.wait_until_gone(ADD_NOTE)
    app.wait_for_window(MAIN)
    assert_windows(app, MAIN)
    shot("note-added")

    # Ctrl+L locks: the process starts again (same id) with only the unlock dialog, so
    # nothing of the unlocked session stays in its memory; it takes Enter too.
    pid = app.pid
    x.key("ctrl+l")
    app.wait_for_window(UNLOCK)
    assert_windows(app, UNLOCK)
    assert app.pid == pid
    shot("locked")
    unlock_with_enter(x, app)
    app.wait_until_gone(UNLOCK)
    app.wait_for_window(MAIN)
    assert_windows(app, MAIN)
    shot("unlocked-again")
    quit_with_ctrl_q(x, app)
    shot("quit-again")

    with open_workspace(folder, PASSPHRASE) as ws:
        [case] = queries.list_cases(ws.conn)
        assert case.title == CASE_TITLE
        [note] = queries.in_case(ws.conn, Note, case.id)
        assert note.text == NOTE_TEXT
        assert queries.get(ws.conn, Case, case.id).title == CASE_TITLE
        assert ws.user is not None  # the one user, named on the first run
        assert (ws.user.name, ws.user.role) == (FIRST_USER, "supervisor")
        assert {entry.actor for entry in audit.entries(ws.conn)} == {FIRST_USER}


def test_a_wrong_passphrase_with_enter_keeps_the_unlock_dialog_and_valise_running(
    x_session: XSession, start_valise: Callable[[Path], ValiseApp], shot: Shot, workspace_dir: Path
) -> None:
    x = x_session
    app = start_valise(workspace_dir)
    unlock_with_enter(x, app, WRONG)
    record = WorkspacePaths(workspace_dir).attempts

    def failure_recorded() -> bool:
        app.assert_alive()
        return record.exists() and len(throttle.load(record).failures) == 1

    wait_for("the failed attempt to be recorded", failure_recorded)
    unlock = app.wait_for_window(UNLOCK)  # still there, and still active
    assert_windows(app, UNLOCK)
    shot("wrong-passphrase")
    # The field has the focus again with its text selected: typing replaces it.
    x.type_text(PASSPHRASE)
    x.key("Return")
    app.wait_for_window(MAIN)
    assert_windows(app, MAIN)
    assert app.window(UNLOCK) is None and unlock.id not in {w.id for w in app.windows()}
    shot("unlocked")
    quit_with_ctrl_q(x, app)


def test_enter_again_and_escape_during_a_real_key_derivation_still_unlock(
    x_session: XSession, start_valise: Callable[[Path], ValiseApp], shot: Shot, tmp_path: Path
) -> None:
    """With the standard Argon2id cost the check takes long enough for impatient keys to
    land while it runs (as in the issue, on the demo): they must neither quit nor
    start a second check."""
    x = x_session
    folder = tmp_path / "workspace"
    create_workspace(folder, OFFICE, PASSPHRASE, kdf=STANDARD_KDF).close()
    app = start_valise(folder)
    app.wait_for_window(UNLOCK)
    x.type_text(PASSPHRASE)
    x.key("Return", "Return", "Escape")
    app.wait_for_window(MAIN)
    assert_windows(app, MAIN)
    shot("unlocked")
    quit_with_ctrl_q(x, app)
