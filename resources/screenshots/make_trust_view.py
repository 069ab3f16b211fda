"""Screenshots of the Trust view (Sync › Trust and revocations…, Ctrl+Shift+T) and its
dialogs, at 1024×700 and 1920×1080, to look at for clipped sentences and narrow columns.

The tribunal liaison holds an advisory (the NGO says Kabora's laptop was stolen), its own
revocation of Dressa's old key, and a named authority (the tribunal registry). Run under
Xvfb with a window manager, as make_every_view.py:

    Xvfb :99 -screen 0 2000x1200x24 & DISPLAY=:99 openbox &
    DISPLAY=:99 python resources/screenshots/make_trust_view.py [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from PySide6.QtWidgets import QDialog

from desktop.gui import _application
from storage import cases
from storage.keyfile import FAST_INSECURE_KDF
from storage.workspace import Workspace, create_workspace
from sync import peers, trust
from sync.cards import parse_card
from sync.export import export_bundle
from sync.importer import import_paths
from ui.dialogs.create_workspace import CreateWorkspaceDialog
from ui.dialogs.trust_dialogs import AuthorityDialog, DecisionDialog
from ui.fonts import load_fonts
from ui.main_window import MainWindow
from ui.trust_view import TrustView

PASSPHRASE = "correct horse battery staple"  # noqa: S105 (throwaway workspaces)
OFFICES = {
    "kabora": ("Kabora field office", "office"),
    "dressa": ("Dressa field office", "office"),
    "liaison": ("Tribunal liaison", "liaison"),
    "ngo": ("Varosa Documentation Project", "ngo"),
    "registry": ("Tribunal registry", "liaison"),
}

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--out", type=Path, default=None, help="folder for the pictures")
parser.add_argument("--sizes", default="1024x700,1920x1080", help="window sizes, WxH,…")
args = parser.parse_args()
out = args.out or Path(tempfile.mkdtemp(prefix="valise-trust-"))
sizes = [tuple(int(n) for n in size.split("x")) for size in args.sizes.split(",")]
app = _application()
load_fonts(app)


def settle(seconds: float = 0.6) -> None:
    """Let Qt lay out and paint for a moment."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def build(base: Path) -> dict[str, Workspace]:
    """Five offices that know each other; the scene of the module's docstring."""
    ws = {
        name: create_workspace(base / name, office, PASSPHRASE, kdf=FAST_INSECURE_KDF)
        for name, (office, _) in OFFICES.items()
    }
    cards = {name: parse_card(peers.card_bytes(w)) for name, w in ws.items()}
    for holder, w in ws.items():
        for other, card in cards.items():
            if other != holder:
                peer = peers.add_peer(w, card, OFFICES[other][1])
                peers.verify_peer(w, peer, card.fingerprint)

    def send(sender: str, receiver: str) -> None:
        stick = base / f"stick-{sender}-{receiver}-{time.monotonic_ns()}"
        stick.mkdir()
        result = export_bundle(ws[sender], [peers.get_peer(ws[sender], ws[receiver].origin)], stick)
        import_paths(ws[receiver], [result.head])

    case_id = cases.add_case(ws["kabora"], "Shelling of the Kabora market", "start")
    peers.share_case(ws["kabora"], case_id, peers.get_peer(ws["kabora"], ws["liaison"].origin))
    send("kabora", "liaison")
    ngo_kabora = peers.get_peer(ws["ngo"], ws["kabora"].origin)
    _, last = trust.last_seq_of(ws["liaison"], ws["kabora"].origin)
    trust.revoke_peer(ws["ngo"], ngo_kabora, last, "laptop stolen at the Kabora checkpoint")
    send("ngo", "liaison")
    dressa = peers.get_peer(ws["liaison"], ws["dressa"].origin)
    trust.revoke_peer(ws["liaison"], dressa, 0, "old laptop handed back to the registry")
    registry = cards["registry"]
    trust.name_authority_card(ws["liaison"], registry, registry.fingerprint)
    for name, w in ws.items():
        if name != "liaison":
            w.close()
    return ws


def shoot_dialog(path: Path, dialog: QDialog) -> None:
    """Show a dialog without a modal loop, as a person sees it, and save it."""
    dialog.show()
    settle(0.4)
    dialog.grab().save(str(path))
    print(f"  {path.name}: {dialog.width()}x{dialog.height()}")
    dialog.close()


def main() -> None:
    """The liaison's window with the Trust view, at each size, and the dialogs once."""
    offices = build(Path(tempfile.mkdtemp()))
    window = MainWindow(offices["liaison"])
    window.show()
    for width, height in sizes:
        folder = out / f"{width}x{height}"
        folder.mkdir(parents=True, exist_ok=True)
        window.resize(width, height)
        settle()
        window.grab().save(str(folder / "main-window-notice.png"))
        window.show_trust()
        settle()
        window.grab().save(str(folder / "trust-view.png"))
        view = window._docks["trust"].widget()
        assert isinstance(view, TrustView)
        view.select_statement(view.model.revocation(1).entry.statement_id)  # type: ignore[union-attr]
        settle()
        window.grab().save(str(folder / "trust-view-own-revocation.png"))
        print(f"  {folder}: {window.width()}x{window.height()}")
    view = window._docks["trust"].widget()
    assert isinstance(view, TrustView)
    advisory = view.model.revocation(0)
    assert advisory is not None
    view.select_statement(advisory.entry.statement_id)
    texts: list[tuple[str, str, str, bool]] = []
    view._ask_decision = lambda _p, title, text, accept, reason: texts.append(  # type: ignore[assignment]
        (title, text, accept, reason)
    )
    view.confirm_selected()
    view.dismiss_selected()
    view.select_statement(view.model.revocation(1).entry.statement_id)  # type: ignore[union-attr]
    view.retract_selected()
    for title, text, accept, reason in texts:
        name = title.lower().replace(" ", "-")
        shoot_dialog(
            out / f"{name}.png", DecisionDialog(title, text, accept, window, with_reason=reason)
        )
    ngo = peers.peer_by_origin(offices["liaison"], offices["ngo"].origin)
    assert ngo is not None
    authority = AuthorityDialog(ngo.card, offices["liaison"].fingerprint, window)
    authority.digits_edit.setText("12345 67890")
    authority.accept()  # wrong digits: the dialog stays and says why
    shoot_dialog(out / "add-an-authority-wrong-digits.png", authority)
    card_path = Path(tempfile.mkdtemp()) / "liaison.card"  # the card an office set up names
    card_path.write_bytes(peers.card_bytes(offices["liaison"]))
    first = CreateWorkspaceDialog(
        Path(tempfile.mkdtemp()) / "new",
        choose_card=lambda _parent, _caption: card_path,
        ask_digits=lambda _parent, card, _ours: card.fingerprint,
    )
    first.office_name_edit.setText("Mirani field office")
    first.user_name_edit.setText("Amina")
    first.choose_authority()
    shoot_dialog(out / "first-run-with-authority.png", first)
    window.shutdown()
    print(out)


main()
