"""Take the README screenshots of the main window: its list of cases, a search with the
matched words highlighted, and a new workspace's first steps (run under Xvfb: see README)."""

import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from PySide6.QtWidgets import QApplication

from storage.cases import add_case
from storage.keyfile import FAST_INSECURE_KDF
from storage.workspace import create_workspace
from ui.fonts import load_fonts
from ui.main_window import MainWindow

out = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).with_name("main-window.png"))
root = Path(tempfile.mkdtemp()) / "ws"
ws = create_workspace(
    root,
    "Kabora field office",
    "correct horse battery staple",
    office_code="KAB",
    situation="VAR",
    kdf=FAST_INSECURE_KDF,
)
# Fictional (DOMAIN.md): the Republic of Varosa; every place name below is invented.
titles = [
    "Shelling of Kabora central market",
    "Detentions at the Velmar river camp",
    "Attack on the Askadi clinic",
    "Forced displacement from Orumé village",
    "Looting of the Mirani provincial archive",
    "Recruitment of children near Duneva",
    "Sexual violence at the Brasko checkpoint",
    "Destruction of the Telva mosque",
    "Killings on the Porlok road",
    "Pillage of the Lake Semi fisheries",
    "Enforced disappearances in Kabora north",
    "Burning of Mavo and Kitrel",
    "Torture at the old Hesk customs post",
    "Blockade of humanitarian convoys, route 4",
    "Attack on the Saint-Amand school, Mirani",
    "Mass grave at the Ruvel quarry",
    "Abductions from the Nyaro camp",
    "Shelling of the Kabora water plant",
    "Persecution of Tessari herders",
    "Hostage taking at the Ombra mission",
    "Unlawful detention, Kabora prison annex",
    "Attacks on observers at Dorun",
    "Siege of the Mirani hospital",
    "Destruction of the Valo bridge",
    "Forced labour at the Kesh mine",
    "Execution of prisoners at Sarno airfield",
    "Targeting of journalists, Radio Varosa",
    "Starvation of civilians in the eastern valley",
    "Deportation across the southern border",
    "Attack on the Lusa cultural centre",
]
rng = random.Random(4)  # noqa: S311 (made-up demo dates)
with ws.transaction():
    for n, title in enumerate(titles):
        status = rng.choice(["open"] * 5 + ["under review"] * 2 + ["closed"])
        month, day = rng.randint(1, 12), rng.randint(1, 28)
        year = 2024 + n // 16
        add_case(
            ws,
            title,
            status=status,
            opened_on=f"{year}-{month:02d}-{day:02d}",
            reference=f"VAR-KAB-{year}-{n + 1:04d}",
        )
app = QApplication([])
app.setApplicationName("Valise")
print("font:", load_fonts(app))
window = MainWindow(ws)
window.resize(1200, 720)
window.show()


here = Path(out).parent


def settle(seconds: float) -> None:
    """Let Qt lay out and paint for a moment."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


settle(0.8)
window.grab().save(out)
print("saved", out)

# A search, its matched words highlighted.
window.search.box.setText("Kabora")
window.search.run()
while window.search.searching:
    settle(0.05)
settle(0.5)
window.grab().save(str(here / "search-hits.png"))
print("saved", here / "search-hits.png")
window.close()

# A new workspace: the first steps in place of an empty list.
empty = create_workspace(
    Path(tempfile.mkdtemp()) / "new",
    "Kabora field office",
    "correct horse battery staple",
    office_code="KAB",
    situation="VAR",
    kdf=FAST_INSECURE_KDF,
)
first = MainWindow(empty)
first.resize(1200, 720)
first.show()
settle(0.8)
first.grab().save(str(here / "empty-workspace.png"))
print("saved", here / "empty-workspace.png")
first.close()
