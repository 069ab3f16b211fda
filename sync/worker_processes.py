"""Leaving no process behind once worker processes are done.

Python's `spawn` start method, which the evidence workers and the signature checker use
(a Qt application must not fork), also starts a resource tracker: a helper process that
stays until this process exits. It then outlives the command (running, then a zombie until
something reaps it), and in the window it stays for as long as the window runs. Once a
pool is shut down and joined, `end_resource_tracker` ends and reaps it too.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
from multiprocessing import resource_tracker


def end_resource_tracker() -> None:
    """End and reap the resource tracker, unless a process started by multiprocessing is
    still alive here (it may still need it). Call after the pool's shutdown, with the
    caller's own semaphores (Value, Event) dropped: they are collected first, so nothing
    asks for the tracker again afterwards."""
    gc.collect()  # the pool's queues and locks unregister from the tracker when collected
    if multiprocessing.active_children():
        return
    tracker = getattr(resource_tracker, "_resource_tracker", None)
    stop = getattr(tracker, "_stop", None)  # CPython's own way to end it (3.8 and later)
    if stop is not None:
        with contextlib.suppress(OSError, ChildProcessError):
            stop()
