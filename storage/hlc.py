"""Hybrid logical clock stamps: wall time in milliseconds plus a counter.

Stamps order display and break ties between concurrent edits; causality comes from sequence
numbers and `prev`. They are fixed-width text so that string order is time order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

WallClock = Callable[[], int]
MAX_DRIFT_MS = 24 * 3600 * 1000  # a remote clock further ahead than this is clamped


def system_clock_ms() -> int:
    """The machine's wall clock in milliseconds (injected elsewhere for tests)."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, order=True)
class Stamp:
    """One HLC reading."""

    wall_ms: int
    counter: int

    def __str__(self) -> str:
        return f"{self.wall_ms:015d}.{self.counter:06d}"

    @staticmethod
    def parse(text: str) -> Stamp:
        """Parse the fixed-width form; raise ValueError on anything else."""
        wall, dot, counter = text.partition(".")
        if not dot or len(wall) != 15 or len(counter) != 6 or not (wall + counter).isdigit():
            raise ValueError("not an HLC stamp")
        return Stamp(int(wall), int(counter))


class HybridClock:
    """Issues stamps that never go backwards, even when the wall clock does."""

    def __init__(self, last: Stamp, wall: WallClock = system_clock_ms) -> None:
        self._last = last
        self._wall = wall

    @property
    def last(self) -> Stamp:
        """The most recent stamp issued or observed."""
        return self._last

    def now(self) -> Stamp:
        """A stamp later than every stamp seen so far."""
        wall = self._wall()
        if wall > self._last.wall_ms:
            self._last = Stamp(wall, 0)
        else:
            self._last = Stamp(self._last.wall_ms, self._last.counter + 1)
        return self._last

    def observe(self, remote: Stamp) -> Stamp:
        """Take a remote stamp into account, clamping one far in our future."""
        ceiling = self._wall() + MAX_DRIFT_MS
        if remote.wall_ms > ceiling:
            remote = Stamp(ceiling, 0)
        if remote > self._last:
            self._last = remote
        return remote
