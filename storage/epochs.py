"""Epochs: a workspace restored from a backup (or one that finds another copy of itself
writing) starts a new epoch, so that no (origin, epoch, seq) is ever written twice.

An epoch is the moment it starts, in seconds since 1970, shifted left by EPOCH_RANDOM_BITS,
with random low bits: a later epoch ranks after an earlier one (revocations say "after
change N of epoch E"), and two restores of one backup in the same second still differ.
Trust statements carry epochs as JSON integers below 2**53, which leaves 21 random bits
until the year 2106. The first workspace epoch is 0, and older workspaces restored with
earlier versions have small epochs (1, 2, ...): every new epoch is above its predecessor.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from storage.errors import InvalidInput

EPOCH_RANDOM_BITS = 21
EPOCH_LIMIT = 2**53


def fresh_epoch(previous: int, now: Callable[[], float] = time.time) -> int:
    """An epoch nobody else uses: above `previous` and, when clocks are sane, above every
    epoch started before this moment."""
    stamp = (int(now()) << EPOCH_RANDOM_BITS) | secrets.randbits(EPOCH_RANDOM_BITS)
    epoch = max(previous + 1 + secrets.randbits(EPOCH_RANDOM_BITS), stamp)
    if epoch >= EPOCH_LIMIT:
        raise InvalidInput(
            "This workspace's epoch is at its limit, so no new epoch can follow it; restore"
            " an older backup."
        )
    return epoch
