"""Our contact card as a QR code, for an office that reads it with a camera.

The code holds the card's exact bytes (about 520 of them: office name, role and public
keys, nothing secret), encoded by `segno`. A scanned card is checked like a card file: the
fingerprint shown beside the code is what the other office must read back to us.
"""

from __future__ import annotations

import segno
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

QUIET_MODULES = 4  # the blank margin the QR standard asks for
MODULE_PIXELS = 6


def card_qr_modules(card: bytes) -> list[list[bool]]:
    """The code's modules, dark = True, without the quiet zone (error correction M)."""
    code = segno.make(card, error="m", micro=False, boost_error=False)
    return [[bool(module) for module in row] for row in code.matrix]


def card_qr_image(card: bytes, module_pixels: int = MODULE_PIXELS) -> QImage:
    """The code drawn black on white, with its quiet zone, `module_pixels` per module."""
    modules = card_qr_modules(card)
    side = (len(modules) + 2 * QUIET_MODULES) * module_pixels
    image = QImage(side, side, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    black = QColor("black")
    for y, row in enumerate(modules):
        for x, dark in enumerate(row):
            if dark:
                painter.fillRect(
                    (x + QUIET_MODULES) * module_pixels,
                    (y + QUIET_MODULES) * module_pixels,
                    module_pixels,
                    module_pixels,
                    black,
                )
    painter.end()
    return image


class CardQrDialog(QDialog):
    """Shows our card as a QR code, with the fingerprint to read aloud beside it."""

    def __init__(
        self, card: bytes, office: str, fingerprint: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Contact card of {office}")
        self.image = card_qr_image(card)
        code = QLabel(self)
        code.setPixmap(QPixmap.fromImage(self.image))
        code.setAlignment(Qt.AlignmentFlag.AlignCenter)
        code.setAccessibleName("Our contact card as a QR code")
        explain = QLabel(
            f"The office adding {office} scans this code, then reads you the fingerprint its"
            " Valise shows. It must match this one:",
            self,
        )
        explain.setWordWrap(True)
        explain.setTextFormat(Qt.TextFormat.PlainText)
        self.fingerprint_label = QLabel(fingerprint, self)
        self.fingerprint_label.setTextFormat(Qt.TextFormat.PlainText)
        self.fingerprint_label.setAccessibleName("Our fingerprint")
        self.fingerprint_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        big = QFont("DejaVu Sans Mono")
        big.setStyleHint(QFont.StyleHint.Monospace)
        big.setPointSize(16)
        self.fingerprint_label.setFont(big)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(code)
        layout.addWidget(explain)
        layout.addWidget(self.fingerprint_label)
        layout.addWidget(buttons)
