"""Slots that do not keep their object alive.

PySide keeps whatever callable a signal is connected to. Connected to a bound method of a
QObject, it holds the object weakly and drops the connection when the object goes; a
lambda or closure that captures `self`, though, is a strong reference stored in the
*sender's* connection. When the sender is a child widget that is deleted on its own (a
docked view closed with `deleteLater` on lock), dropping its connections can drop the
last reference to a parent that Python owns (a main window made without a parent):
Python then deletes the parent, which deletes the child again while that child is half
way through its own destructor. Qt's heap is corrupted and the process dies later
("Segmentation fault" in `QObject::~QObject`, or "pure virtual method called").

`weakly(method, *extra)` is the slot to use when the receiver needs arguments of its own
(which view became busy, which dock went): it calls `method(*signal_args, *extra)` while
the method's object lives, and does nothing after.

The same goes for a helper a widget owns and hands its own methods to (a tab's
`WorkerWrites`, its `RowActivation`): held strongly, the method ties the widget into a
reference cycle, and a widget in a cycle lives until Python's cycle collector runs, at
whatever allocation that happens to be. A widget Python owns (shown without a parent)
is then deleted by the collector in the middle of Qt's work on it, even inside its own
`paintEvent`, and Qt goes on painting freed widgets ("Segmentation fault" in
`QPainter::fillRect` or `QWidgetRepaintManager::markNeedsFlush`). `weak_callback` holds
such a method weakly, so the widget goes as soon as its last real reference does.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from typing import Any


def weakly(method: Callable[..., object], *extra: Any) -> Callable[..., None]:
    """A slot calling the bound `method` with the signal's arguments then `extra`,
    holding `method`'s object only weakly (see the module docstring for why)."""
    ref = weakref.WeakMethod(method)

    def slot(*signal_args: Any) -> None:
        bound = ref()
        if bound is not None:
            bound(*signal_args, *extra)

    return slot


def weak_callback(callback: Callable[..., object]) -> Callable[..., object]:
    """`callback` for a helper its owner keeps: a bound method held weakly (its object is
    usually that owner; see the module docstring), any other callable as it is (a lambda
    or function belongs to whoever made it, which may hold no other reference to it)."""
    if inspect.ismethod(callback):
        return weakly(callback)
    return callback
