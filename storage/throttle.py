"""Failed-unlock bookkeeping that survives a restart: a growing wait between attempts.

The record sits in clear beside the database (it must be readable before unlock) and holds
only times and a count. It slows down guessing at the keyboard; the real protection against
an attacker holding the files is Argon2id in the key file. The failures are copied into the
audit chain at the next successful unlock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from storage.atomic import atomic_write_bytes

FREE_ATTEMPTS = 2
MAX_WAIT_SECONDS = 300.0
KEPT_FAILURES = 100


@dataclass
class UnlockAttempts:
    """Recent failed unlocks (Unix times), oldest first."""

    failures: list[float] = field(default_factory=list)

    def wait_seconds(self, now: float) -> float:
        """How long the next attempt must wait: none for the first few, then doubling."""
        extra = len(self.failures) - FREE_ATTEMPTS
        if extra < 0 or not self.failures:
            return 0.0
        wait = min(MAX_WAIT_SECONDS, 2.0**extra)
        return max(0.0, self.failures[-1] + wait - now)


def load(path: Path) -> UnlockAttempts:
    """Read the record; a damaged one counts as many failures rather than none."""
    try:
        doc = json.loads(path.read_bytes()[:65536])
        failures = [float(t) for t in doc["failures"]][-KEPT_FAILURES:]
        return UnlockAttempts(failures)
    except FileNotFoundError:
        return UnlockAttempts()
    except (ValueError, KeyError, TypeError):
        return UnlockAttempts([time.time()] * (FREE_ATTEMPTS + 3))


def record_failure(path: Path, clock: Callable[[], float] = time.time) -> UnlockAttempts:
    """Add a failure and save the record atomically."""
    attempts = load(path)
    attempts.failures = [*attempts.failures, clock()][-KEPT_FAILURES:]
    atomic_write_bytes(path, json.dumps({"failures": attempts.failures}).encode())
    return attempts


def clear(path: Path) -> None:
    """Forget failures after a successful unlock (they are in the audit chain by then)."""
    path.unlink(missing_ok=True)
