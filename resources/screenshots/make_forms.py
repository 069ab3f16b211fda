"""Take the README screenshots of two forms on the Varosa demo: an incident being edited,
one field showing why it cannot be recorded yet, and a protected witness being edited
while the identity is withheld (run under Xvfb: `xvfb-run -s "-screen 0 1400x900x24"
python resources/screenshots/make_forms.py`).

The dialogs are shown without a modal loop (show, let Qt paint, grab), as a person sees
them in front of the case.
"""

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from PySide6.QtWidgets import QApplication, QDialog

from desktop.demo import DEMO_PASSPHRASE, build_demo
from storage.queries import in_case, list_cases
from storage.records import Incident, Person
from storage.workspace import open_workspace
from ui.dialogs.incident_form import IncidentDraft, IncidentForm
from ui.dialogs.person_form import EditPersonDialog
from ui.fonts import load_fonts

here = Path(__file__).resolve().parent
demo = Path(tempfile.mkdtemp()) / "demo"
liaison = build_demo(demo, DEMO_PASSPHRASE)
kabora_root = next(p for p in demo.iterdir() if "kabora" in p.name.lower())
app = QApplication([])
app.setApplicationName("Valise")
load_fonts(app)


def settle(seconds: float = 0.5) -> None:
    """Let Qt lay out and paint for a moment."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def save(name: str, dialog: QDialog, then: Callable[[], None] = lambda: None) -> None:
    dialog.show()
    settle()
    then()  # what a person does once it is open
    settle(0.2)
    dialog.grab().save(str(here / name))
    print("saved", here / name, f"{dialog.width()}x{dialog.height()}")
    dialog.close()


with open_workspace(kabora_root, DEMO_PASSPHRASE) as kabora:
    shelling = next(c for c in list_cases(kabora.conn) if c.reference == "VAR-KAB-2027-0001")
    incident = next(
        i for i in in_case(kabora.conn, Incident, shelling.id) if i.title.startswith("Wounded")
    )
    witness = next(p for p in in_case(kabora.conn, Person, shelling.id) if p.pseudonym == "W-0042")

# Editing an incident: the start date is retyped as a person unsure of it might.
form = IncidentForm(None, IncidentDraft.of(incident))
form.from_edit.setFocus()
save("incident-form.png", form, lambda: form.from_edit.setText("March-ish 2027"))

# A protected witness whose identity is not revealed: the form says how to edit it.
dialog = EditPersonDialog(witness, identity_shown=False)
save("person-edit.png", dialog)
