"""The Users view on a real X display, driven by real keys (issue 13): Ctrl+Shift+U, Alt+A,
a name, Alt+R and a role by its first letter, Alt+P and Alt+E for the passphrase twice,
Enter; then Alt+A again and Escape, which adds nobody. The new user unlocks with their own
passphrase afterwards, as the role chosen with the keys."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from storage import users
from storage.workspace import open_workspace
from tests.conftest import PASSPHRASE
from tests.e2e.steps import assert_windows
from tests.e2e.x11 import ValiseApp, XSession, wait_for

MAIN = r"^Kabora field office — Valise$"
UNLOCK = r"^Unlock workspace — Valise$"
ADD_USER = r"^Add a user — Valise$"
CHIDI = "Chidi Okafor"
CHIDI_PASSPHRASE = "Chidi protects the witnesses of this office"

Shot = Callable[[str], Path]


def test_a_supervisor_adds_a_protection_officer_with_the_keyboard_alone(
    x_session: XSession, start_valise: Callable[..., ValiseApp], shot: Shot, workspace_dir: Path
) -> None:
    x = x_session
    app = start_valise(workspace_dir)
    app.wait_for_window(UNLOCK)
    x.type_text(PASSPHRASE)
    x.key("Return")
    app.wait_for_window(MAIN)

    x.key("ctrl+shift+u", "alt+a")  # the Users view, then its Add user…
    app.wait_for_window(ADD_USER)
    x.type_text(CHIDI)
    x.key("alt+r")
    x.type_text("p")  # the role box picks "protection officer" by its first letter
    x.key("alt+p")
    x.type_text(CHIDI_PASSPHRASE)
    x.key("alt+e")
    x.type_text(CHIDI_PASSPHRASE)
    shot("add-user-filled")
    x.key("Return")
    wait_for("the Add user form to close", lambda: app.window(ADD_USER) is None)
    assert_windows(app, MAIN)
    shot("user-added")

    x.key("alt+a")  # again, and Escape: nothing is added
    app.wait_for_window(ADD_USER)
    x.type_text("Nobody")
    x.key("Escape")
    wait_for("Escape to close the form", lambda: app.window(ADD_USER) is None)
    assert_windows(app, MAIN)

    x.key("ctrl+q")
    assert app.wait_for_exit() == 0, app.output()
    assert "Traceback" not in app.output(), app.output()
    with open_workspace(workspace_dir, CHIDI_PASSPHRASE, user="chidi okafor") as ws:
        assert ws.user is not None
        assert (ws.user.name, ws.user.role) == (CHIDI, users.PROTECTION_OFFICER)
        names = [user.name for user in users.all_users(ws.conn)]
    assert "Nobody" not in names and len(names) == 2
