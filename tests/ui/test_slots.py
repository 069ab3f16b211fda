"""`weakly`: a slot with arguments of its own that does not keep its receiver alive."""

from __future__ import annotations

import gc
import weakref

from PySide6.QtCore import QObject, Signal

from ui.slots import weakly


class Sender(QObject):
    busy = Signal(bool)


class Receiver:
    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    def record(self, *args: object) -> None:
        self.calls.append(args)


def test_the_slot_passes_the_signal_arguments_then_its_own(qapp: object) -> None:
    sender, receiver = Sender(), Receiver()
    sender.busy.connect(weakly(receiver.record, "case"))
    sender.busy.emit(True)
    sender.busy.emit(False)
    assert receiver.calls == [(True, "case"), (False, "case")]


def test_a_connection_does_not_keep_the_receiver_alive(qapp: object) -> None:
    """The sender's connection is the only thing left that knows the receiver: it must
    not hold it (that is what deleted the main window from inside a view's destructor)."""
    sender, receiver = Sender(), Receiver()
    sender.busy.connect(weakly(receiver.record, "case"))
    gone = weakref.ref(receiver)
    del receiver
    gc.collect()
    assert gone() is None
    sender.busy.emit(True)  # nothing to call, and no error
