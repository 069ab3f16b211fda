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
"""

from __future__ import annotations

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
