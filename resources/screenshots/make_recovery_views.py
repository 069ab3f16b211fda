"""Screenshots of recovery and rekey in the window: the unlock dialog with "Forgot the
passphrase…", the recovery dialog with two paper shares added (and its escrow page), the
dialog to type a share's words, and the rekey confirmation (Tools › Change the database
key…) of a workspace whose escrow recipient is recorded. Run under Xvfb with a window
manager, as make_every_view.py:

    Xvfb :99 -screen 0 1600x1000x24 & DISPLAY=:99 openbox &
    DISPLAY=:99 python resources/screenshots/make_recovery_views.py [--out DIR]

Without --out the pictures the README shows are written beside this script.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from pyrage import x25519
from PySide6.QtWidgets import QWidget

from desktop.gui import _application
from storage import escrow, paper_shares
from storage.keyfile import FAST_INSECURE_KDF
from storage.workspace import create_workspace, open_workspace
from ui.dialogs.recover import FileChoosers, TypeShareDialog
from ui.dialogs.rekey import RekeyDialog
from ui.dialogs.unlock import UnlockDialog
from ui.fonts import load_fonts
from ui.main_window import MainWindow

PASSPHRASE = "correct horse battery staple"  # noqa: S105 (a throwaway workspace)

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
args = parser.parse_args()
out: Path = args.out
out.mkdir(parents=True, exist_ok=True)
app = _application()
load_fonts(app)


def settle(seconds: float = 0.6) -> None:
    """Let Qt lay out and paint for a moment."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def save(name: str, widget: QWidget) -> None:
    widget.grab().save(str(out / name))
    print(f"  {out / name}: {widget.width()}x{widget.height()}")


def main() -> None:
    """A Kabora office with a set of 2-of-3 shares and an escrow, then each picture."""
    base = Path(tempfile.mkdtemp())
    root = base / "kabora"
    identity = x25519.Identity.generate()
    with create_workspace(
        root, "Kabora field office", PASSPHRASE, user="Amina", kdf=FAST_INSECURE_KDF
    ) as ws:
        made = paper_shares.make_shares(ws, 2, 3, base / "shares")
        escrow.write_escrow(ws, str(identity.to_public()), base / "kabora.escrow")
    texts = sorted(path for path in made.files if path.suffix == ".txt")[:2]
    one = [base / "kabora.escrow", base / "tribunal-it.key"]

    unlock = UnlockDialog(
        root,
        user="Amina",
        recovery_choosers=FileChoosers(shares=lambda *_: texts, one=lambda *_: one.pop(0)),
    )
    unlock.show()
    settle()
    save("unlock-forgot.png", unlock)
    unlock.forgot_passphrase()
    dialog = unlock.recover_dialog
    assert dialog is not None
    settle()
    dialog.add_shares()
    dialog.passphrase_edit.setText("a brand new passphrase for Amina")
    dialog.repeat_edit.setText("a brand new passphrase for Amina")
    settle()
    save("recover-shares.png", dialog)
    dialog.escrow_radio.setChecked(True)
    dialog.choose_escrow()
    dialog.choose_identity()
    settle()
    save("recover-escrow.png", dialog)
    dialog.reject()
    unlock.reject()

    typing = TypeShareDialog("typed share 1")
    typing.show()
    words = paper_shares._words_of(texts[0].read_text())
    typing.words_edit.setPlainText(" ".join(words[:20]))
    typing.check_and_accept()  # 20 of 33 words: it says so, without quoting them
    settle()
    save("recover-type-share.png", typing)
    typing.reject()

    window = MainWindow(open_workspace(root, PASSPHRASE, user="Amina"))
    window.resize(1100, 620)
    window.show()
    settle()
    window.rekey_action.trigger()
    settle()
    rekey = window.rekey_dialog
    assert isinstance(rekey, RekeyDialog) and rekey.escrow_check is not None
    rekey.escrow_check.setChecked(True)
    rekey.escrow_out = base / "kabora-after-rekey.escrow"
    assert rekey.escrow_edit is not None
    rekey.escrow_edit.setText(str(rekey.escrow_out))
    rekey.passphrase_edit.setText(PASSPHRASE)
    settle()
    save("rekey-confirm.png", rekey)
    rekey.reject()
    window.shutdown()


main()
