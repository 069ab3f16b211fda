"""Steps the issue-11 walks share: workspaces prepared before `valise` starts (as a
colleague with the command line, or a peer's bundle, would leave them), and the few things
a person does in every walk (unlock with Enter, quit with Ctrl+Q).

Everything a walk does inside the running process goes through `XSession`'s real keys and
clicks; this module only prepares folders before a start and reads them after an exit.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from storage.keyfile import FAST_INSECURE_KDF
from storage.workspace import Workspace, create_workspace, open_workspace
from sync import peers
from sync.cards import ContactCard, parse_card
from tests.conftest import PASSPHRASE
from tests.e2e.x11 import ValiseApp, XSession

KABORA = "Kabora field office"
NGO = "Varosa Documentation Project"

UNLOCK = r"^Unlock workspace — Valise$"
MAIN = rf"^{KABORA} — Valise$"

Shot = Callable[[str], Path]


def assert_windows(app: ValiseApp, *titles: str) -> None:
    """The process runs and shows exactly one window for each regular expression."""
    app.assert_alive()
    shown = app.titles()
    assert len(shown) == len(titles), f"windows: {shown}"
    for title in titles:
        assert app.window(title) is not None, f"no window {title!r} among {shown}"


def unlock(x: XSession, app: ValiseApp) -> None:
    """Type the passphrase into the unlock dialog, press Enter, wait for the main window."""
    app.wait_for_window(UNLOCK)
    x.type_text(PASSPHRASE)
    x.key("Return")
    app.wait_for_window(MAIN)
    assert_windows(app, MAIN)


def quit_with_ctrl_q(x: XSession, app: ValiseApp) -> None:
    """Ctrl+Q in the main window: the process ends with 0, wrote no traceback, and left
    the folder lock free."""
    app.wait_for_window(MAIN)
    x.key("ctrl+q")
    assert app.wait_for_exit() == 0, app.output()
    assert "Traceback" not in app.output(), app.output()


def new_office(folder: Path, office: str, code: str = "") -> Workspace:
    """A new workspace for `office`, open (fast key derivation: these are tests)."""
    return create_workspace(
        folder, office, PASSPHRASE, office_code=code or None, kdf=FAST_INSECURE_KDF
    )


def card_of(ws: Workspace) -> ContactCard:
    """The contact card `ws` would write to a file."""
    return parse_card(peers.card_bytes(ws))


def know_each_other(
    office: Workspace, partner: Workspace, partner_role: str, *, verified: bool = True
) -> peers.Peer:
    """`office` adds `partner` with `partner_role` (verified, unless the walk is about
    verifying), and `partner` adds `office` as an office, verified: the peer as `office`
    knows it."""
    peer = peers.add_peer(office, card_of(partner), partner_role)
    if verified:
        peer = peers.verify_peer(office, peer, peer.fingerprint)
    back = peers.add_peer(partner, card_of(office), "office")
    peers.verify_peer(partner, back, back.fingerprint)
    return peer


def reopen(folder: Path) -> Workspace:
    """The workspace in `folder` after `valise` exited (the folder lock must be free)."""
    return open_workspace(folder, PASSPHRASE)


def fresh_folder(base: Path, name: str) -> Path:
    """An empty folder `base/name` (a stick, say)."""
    folder = base / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder
