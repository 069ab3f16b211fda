"""The bundled DejaVu Sans becomes the application font (no installed fonts needed)."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QFontDatabase

from ui import fonts


def test_the_bundled_font_is_found_and_made_the_application_font(qapp):
    previous = qapp.font()
    try:
        family = fonts.load_fonts(qapp)
        assert family == "DejaVu Sans"
        assert qapp.font().family() == "DejaVu Sans"
        assert "DejaVu Sans" in QFontDatabase.families()
    finally:
        qapp.setFont(previous)


def test_a_frozen_build_looks_in_its_bundle_first(monkeypatch, tmp_path: Path):
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert fonts.font_dirs()[0] == tmp_path / "resources" / "fonts"
    # Nothing in that bundle: the source checkout's copy is still found.
    assert fonts.find_font_dir() == Path(fonts.__file__).resolve().parents[1] / "resources/fonts"


def test_missing_fonts_keep_the_platform_font(qapp, monkeypatch, tmp_path: Path):
    monkeypatch.setattr(fonts, "font_dirs", lambda: [tmp_path])
    previous = qapp.font()
    assert fonts.load_fonts(qapp) is None
    assert qapp.font() == previous
