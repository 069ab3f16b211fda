"""A person at the tribunal liaison decides an advisory revocation in the real `valise`
window, with real keys through the X server: the status bar says one waits, Ctrl+Shift+T
opens Trust with the advisory selected, Alt+C asks to confirm and says what it will do,
and Alt+C in that dialog signs the revocation.

The NGO (no authority at the liaison) says Kabora's laptop was stolen; its statement was
imported at the liaison before Valise starts. Screenshots of each step are kept in
`tests/e2e/artifacts/<test>/`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from storage import audit
from storage.workspace import open_workspace
from sync import trust
from tests.conftest import PASSPHRASE
from tests.e2e.steps import assert_windows
from tests.e2e.test_desktop_walk import unlock_with_enter
from tests.e2e.x11 import ValiseApp, XSession
from tests.sync import conftest as sync_fixtures
from tests.sync.conftest import Network
from tests.ui.test_trust_view import ngo_says_kabora_is_stolen

installation_templates = sync_fixtures.installation_templates
network = sync_fixtures.network

MAIN = r"^Tribunal liaison — Valise$"
CONFIRM = r"^Confirm a revocation — Valise$"

Shot = Callable[[str], Path]


def test_an_advisory_is_confirmed_from_the_keyboard_in_the_trust_view(
    x_session: XSession,
    start_valise: Callable[[Path], ValiseApp],
    shot: Shot,
    network: Network,
) -> None:
    x = x_session
    cs_id, last = ngo_says_kabora_is_stolen(network)
    liaison = network.ws["liaison"]
    folder, kabora_origin = liaison.paths.root, network.ws["kabora"].origin
    liaison.close()  # Valise opens it now

    app = start_valise(folder)
    unlock_with_enter(x, app)
    app.wait_for_window(MAIN)
    assert_windows(app, MAIN)
    shot("advisory-waits")  # the status bar: 1 revocation waits for your decision

    x.key("ctrl+shift+t")  # Trust, docked in the window, the advisory selected
    shot("trust-view")
    x.key("alt+c")  # Confirm…
    app.wait_for_window(CONFIRM)
    assert_windows(app, MAIN, CONFIRM)
    shot("confirm-dialog")
    x.key("alt+c")  # Confirm revocation
    app.wait_until_gone(CONFIRM)
    app.wait_for_window(MAIN)
    assert_windows(app, MAIN)
    shot("confirmed")  # the notice is gone; the row reads "Confirmed by this office"
    x.key("ctrl+q")
    assert app.wait_for_exit() == 0, app.output()
    assert "Traceback" not in app.output(), app.output()

    with open_workspace(folder, PASSPHRASE) as ws:
        entries = trust.revocation_entries(ws)
        advisory = next(e for e in entries if e.statement_id.startswith(cs_id))
        assert advisory.status == "confirmed"
        [ours] = [e for e in entries if e.signer == ws.origin]
        assert ours.status == "effective" and ours.subject == kabora_origin
        assert trust.advisories_waiting(ws) == 0
        revoked = ws.conn.execute(
            "SELECT after_seq FROM revocations WHERE origin = ?", (kabora_origin,)
        ).fetchone()
        assert revoked is not None and revoked[0] == last
        actions = [e.action for e in audit.entries(ws.conn, limit=1000)]
        assert "revocation confirmed" in actions
