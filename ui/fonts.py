"""The bundled DejaVu Sans font, made the application font.

Machines without fonts installed (bare Debian, minimal containers) draw every glyph as an
empty box (shared/PLATFORM.md #4). DejaVu Sans covers Latin and Arabic, so shipping it and
loading it at start-up gives the same text everywhere.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication

log = logging.getLogger(__name__)

FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")
FALLBACK_FAMILY = "DejaVu Sans"


def font_dirs() -> list[Path]:
    """Where `resources/fonts/` may be: inside a PyInstaller bundle, or beside the package."""
    candidates = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.append(Path(bundle) / "resources" / "fonts")
    candidates.append(Path(__file__).resolve().parents[1] / "resources" / "fonts")
    return candidates


def find_font_dir() -> Path | None:
    """The first candidate folder that holds the regular font file."""
    for folder in font_dirs():
        if (folder / FONT_FILES[0]).is_file():
            return folder
    return None


def load_fonts(app: QGuiApplication | None = None) -> str | None:
    """Register the bundled fonts and make them the application font; returns the family.

    `app` defaults to the running application, which must exist. Returns None (and keeps
    the platform font) when the files are missing, so a broken installation still starts;
    the problem is logged.
    """
    running = app or QGuiApplication.instance()
    if not isinstance(running, QGuiApplication):
        raise RuntimeError("load_fonts needs a QGuiApplication; create it first")
    folder = find_font_dir()
    if folder is None:
        log.warning("bundled fonts not found in %s", ", ".join(map(str, font_dirs())))
        return None
    family = None
    for name in FONT_FILES:
        font_id = QFontDatabase.addApplicationFont(str(folder / name))
        if font_id < 0:
            log.warning("could not load font %s", folder / name)
            continue
        families = QFontDatabase.applicationFontFamilies(font_id)
        family = family or (families[0] if families else FALLBACK_FAMILY)
    if family is None:
        return None
    font = QFont(family)
    size = running.font().pointSizeF()
    font.setPointSizeF(size if size > 0 else 10.0)
    running.setFont(font)
    return family
