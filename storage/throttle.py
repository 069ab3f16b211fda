"""Failed-unlock bookkeeping that survives a restart: a growing wait between attempts.

The record sits in clear beside the database (it must be readable before unlock) and holds
only times and a count. It slows down guessing at the keyboard; the real protection against
an attacker holding the files is Argon2id in the key file. The failures are copied into the
audit chain at the next successful unlock.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from storage.atomic import atomic_write_bytes
from storage.regular_files import FileTooLarge, NotARegularFile, read_regular

FREE_ATTEMPTS = 2
MAX_WAIT_SECONDS = 300.0  # the longest wait ever asked for: 5 minutes
KEPT_FAILURES = 100
CLOCK_SKEW_SECONDS = 120.0  # a failure this far ahead of the clock is still believed
MAX_RECORD_BYTES = 64 * 1024

log = logging.getLogger(__name__)


@dataclass
class UnlockAttempts:
    """Recent failed unlocks (Unix times), oldest first."""

    failures: list[float] = field(default_factory=list)
    clamped: bool = False  # some times lay in the future and were brought back to now

    def wait_seconds(self, now: float) -> float:
        """How long the next attempt must wait: none for the first few, then doubling,
        never more than MAX_WAIT_SECONDS whatever times the record holds."""
        extra = len(self.failures) - FREE_ATTEMPTS
        if extra < 0 or not self.failures:
            return 0.0
        wait = min(MAX_WAIT_SECONDS, 2.0**extra)
        return min(MAX_WAIT_SECONDS, max(0.0, self.failures[-1] + wait - now))


def _believable(times: list[float], now: float) -> list[float]:
    """Failure times as the clock allows them: one beyond the skew allowance (a planted
    record, or a clock set back) counts as a failure now, so it cannot lock anyone out
    for longer than the documented wait."""
    latest = now + CLOCK_SKEW_SECONDS
    return sorted(min(t, now) if t > latest else t for t in times)


def _fresh_start(path: Path, why: str) -> UnlockAttempts:
    log.warning("The unlock record %s %s; it is ignored and counting starts afresh.", path, why)
    return UnlockAttempts()


def load(path: Path, now: Callable[[], float] = time.time) -> UnlockAttempts:
    """Read the record. Anyone who can write the folder can delete it, so a record that is
    not one (not JSON, too large, wrong types, a link or a pipe) is a fresh start with a
    logged warning, never a lock-out and never a crash; times in the future are clamped."""
    try:
        data = read_regular(path, MAX_RECORD_BYTES)
    except FileNotFoundError:
        return UnlockAttempts()
    except (NotARegularFile, FileTooLarge) as exc:
        return _fresh_start(path, f"is unusable ({exc})")
    except OSError as exc:
        return _fresh_start(path, f"cannot be read ({exc.strerror})")
    try:
        doc = json.loads(data)
    except ValueError:
        return _fresh_start(path, "is not JSON")
    raw = doc.get("failures") if isinstance(doc, dict) else None
    if not isinstance(raw, list) or not all(
        isinstance(t, int | float) and not isinstance(t, bool) and math.isfinite(t) and t >= 0
        for t in raw
    ):
        return _fresh_start(path, "does not hold a list of times")
    times = [float(t) for t in raw]
    believed = _believable(times, now())
    return UnlockAttempts(believed[-KEPT_FAILURES:], clamped=believed != sorted(times))


def save(path: Path, attempts: UnlockAttempts) -> None:
    """Write the record atomically (after a failure, or to keep a clamp: a time clamped
    only in memory would be clamped to a later "now" at every load, and wait for ever)."""
    atomic_write_bytes(path, json.dumps({"failures": attempts.failures}).encode())


def record_failure(path: Path, clock: Callable[[], float] = time.time) -> UnlockAttempts:
    """Add a failure and save the record atomically."""
    attempts = load(path, clock)
    attempts.failures = [*attempts.failures, clock()][-KEPT_FAILURES:]
    save(path, attempts)
    return attempts


def clear(path: Path) -> None:
    """Forget failures after a successful unlock (they are in the audit chain by then)."""
    path.unlink(missing_ok=True)
