"""Our card as a QR code: the drawn image holds exactly the modules segno encodes for the
card's bytes, and the dialog shows the fingerprint beside it."""

from __future__ import annotations

import segno
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.workspace import Workspace
from sync import peers
from ui.card_qr import MODULE_PIXELS, QUIET_MODULES, card_qr_image, card_qr_modules
from ui.peers_view import PeersView
from ui.prompts import ScriptedPrompts


def _drawn_modules(card: bytes) -> list[list[bool]]:
    image = card_qr_image(card)
    count = len(card_qr_modules(card))
    half = MODULE_PIXELS // 2
    return [
        [
            image.pixelColor(
                (x + QUIET_MODULES) * MODULE_PIXELS + half,
                (y + QUIET_MODULES) * MODULE_PIXELS + half,
            ).lightness()
            < 128
            for x in range(count)
        ]
        for y in range(count)
    ]


def test_our_card_is_drawn_module_for_module(qapp: object, ws: Workspace) -> None:
    card = peers.card_bytes(ws)
    expected = [[bool(m) for m in row] for row in segno.make(card, error="m").matrix]
    assert card_qr_modules(card) == expected
    assert _drawn_modules(card) == expected
    image = card_qr_image(card)
    corner = image.pixelColor(1, 1)
    assert corner.lightness() > 200  # the quiet zone is white


@settings(max_examples=15, deadline=None)
@given(card=st.binary(min_size=1, max_size=900))
def test_any_card_bytes_round_trip_through_the_drawing(qapp: object, card: bytes) -> None:
    assert _drawn_modules(card) == card_qr_modules(card)


def test_the_peers_view_shows_our_card_as_a_qr_code(qtbot, ws: Workspace) -> None:
    view = PeersView(ws, prompts=ScriptedPrompts())
    qtbot.addWidget(view)
    dialog = view.show_our_card_qr()
    assert dialog.fingerprint_label.text() == ws.fingerprint
    assert dialog.image.width() == dialog.image.height() > 300
    dialog.close()
