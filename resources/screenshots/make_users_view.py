"""Screenshots of named users: the unlock dialog asking for a user and a passphrase, the
Users view (Tools › Users…) of a supervisor with the status bar naming her, and its Add user
dialog filled in. Run under Xvfb with a window manager, as make_every_view.py:

    Xvfb :99 -screen 0 1600x1000x24 & DISPLAY=:99 openbox &
    DISPLAY=:99 python resources/screenshots/make_users_view.py [--out DIR]

Without --out the pictures the README shows are written beside this script.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from PySide6.QtWidgets import QWidget

from desktop.gui import _application
from storage import cases, users
from storage.keyfile import FAST_INSECURE_KDF
from storage.workspace import create_workspace, open_workspace
from ui.dialogs.unlock import UnlockDialog
from ui.fonts import load_fonts
from ui.main_window import MainWindow
from ui.users_view import UsersView

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
    """A Kabora office of four users (one removed), then each picture in turn."""
    root = Path(tempfile.mkdtemp()) / "kabora"
    with create_workspace(
        root, "Kabora field office", PASSPHRASE, user="Amina", kdf=FAST_INSECURE_KDF
    ) as ws:
        users.add_user(ws, "Bashir", users.INVESTIGATOR, "Bashir keeps his own passphrase")
        users.add_user(ws, "Chen Wei", users.PROTECTION_OFFICER, "Chen's witnesses stay hidden")
        users.add_user(ws, "Dina", users.IT, "Dina looks after the laptops")
        users.remove_user(ws, "Dina")
        cases.add_case(ws, "Shelling of Kabora central market")
        cases.add_case(ws, "Detention at the river camp")

    dialog = UnlockDialog(root, user="")
    dialog.show()
    settle()
    dialog.user_edit.setText("Amina")
    dialog.passphrase_edit.setText("not her passphrase")
    dialog.passphrase_edit.setFocus()
    settle(0.2)
    save("unlock-user.png", dialog)
    dialog.close()

    window = MainWindow(open_workspace(root, PASSPHRASE, user="Amina"))
    window.resize(1100, 620)
    window.show()
    settle()
    window.users_action.trigger()
    settle()
    view = window._docks["users"].widget()
    assert isinstance(view, UsersView)
    view.select("Bashir")
    settle()
    save("users-view.png", window)

    view.add_user()
    form = view.form
    assert form is not None
    form.name_edit.setText("Esther")
    form.role_box.setCurrentIndex(users.ROLES.index(users.PROTECTION_OFFICER))
    form.passphrase_edit.setText("Esther chooses a long one")
    form.repeat_edit.setText("Esther chooses a long one")
    settle()
    save("add-user.png", form)
    form.reject()
    window.shutdown()


main()
