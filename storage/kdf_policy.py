"""Which Argon2id costs a passphrase slot must have: the standard, and the floor.

The adversary is someone who holds a copy of the key file (a seized or stolen laptop, a
backup disk) and guesses passphrases offline on hardware of their own. Argon2id's costs are
all that slows each guess, so they are chosen for that adversary (`keyfile.STANDARD_KDF`,
measured by `bench/kdf.py`), and a slot written with lower costs is raised to the standard
the next time its owner types the passphrase: at unlock, and whenever a passphrase is set
(`raised`). Only the owner's own slot can be raised, since rewrapping it needs the
passphrase; other users' slots are raised at their own next unlock.

The floor (`below_floor`) refuses to open a slot whose costs are below what any Valise has
ever written (64 MiB, 3 passes: the standard before issue 13). What it protects against is
narrow, and it is written down here so nobody counts on more:

- It does NOT protect a key file that is already out there: an adversary with a weak slot
  attacks that slot offline whatever this code refuses to do.
- A slot's costs are bound into its associated data, so nobody can lower them without the
  passphrase (a changed cost fails the tag). A slot below the floor was therefore written
  by someone who knew the passphrase: a build or tool that is not Valise, a tampered Valise,
  or a Valise run with the test profile below. The floor makes such a slot loud (a refusal
  with a sentence, nothing changed) instead of being silently used, and raised, as if all
  were well: the office should find out who wrote it.

The floor is a constant here, not an office setting. It has to be read before the database
is open, so a setting would live in the key file, where anyone who can edit the file can
lower it too; and raising it would only lock out the users whose slots still await their
own unlock to be raised, without making those slots any harder to attack. A supervisor who
worries about a user's old slot sets a new passphrase for them (`users.set_passphrase`),
which writes the standard costs.

`VALISE_KDF_PROFILE=fast-insecure-test` (set by the test suite, never by an office) makes
both the standard and the floor `keyfile.FAST_INSECURE_KDF`: the thousands of workspaces the
tests make stay fast, are neither raised to the standard (minutes each run) nor refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from storage.errors import StorageError
from storage.keyfile import FAST_INSECURE_KDF, STANDARD_KDF, KdfParams

PROFILE_ENV = "VALISE_KDF_PROFILE"
TEST_PROFILE = "fast-insecure-test"
FLOOR_KDF = KdfParams(memory_kib=65536, iterations=3, lanes=1)


@dataclass(frozen=True)
class KdfPolicy:
    """The costs new and rewrapped slots get (`standard`) and the least a slot may have to
    be opened at all (`floor`; its lanes are not compared)."""

    standard: KdfParams
    floor: KdfParams


STANDARD_POLICY = KdfPolicy(standard=STANDARD_KDF, floor=FLOOR_KDF)
TEST_POLICY = KdfPolicy(standard=FAST_INSECURE_KDF, floor=FAST_INSECURE_KDF)


def current_policy() -> KdfPolicy:
    """The policy of this process: the standard one, or the tests' (see the docstring)."""
    if os.environ.get(PROFILE_ENV) == TEST_PROFILE:
        return TEST_POLICY
    return STANDARD_POLICY


def _work(costs: KdfParams) -> int:
    """Memory times passes: what one guess costs an attacker (lanes let them spread it
    over cores but do not add to it)."""
    return costs.memory_kib * costs.iterations


def below(costs: KdfParams, least: KdfParams) -> bool:
    """True when `costs` use less memory than `least`, or less memory times passes."""
    return costs.memory_kib < least.memory_kib or _work(costs) < _work(least)


def below_floor(costs: KdfParams, policy: KdfPolicy) -> bool:
    """True when a slot with `costs` must not be opened (see the module docstring)."""
    return below(costs, policy.floor)


def raised(costs: KdfParams, standard: KdfParams) -> KdfParams:
    """The costs a slot now at `costs` is rewritten with: `costs` when they are not below
    the standard (a slot never gets cheaper); else the standard, or, for a slot with more
    memory than the standard but less memory times passes, its memory with the passes
    that bring it to the standard's work."""
    if not below(costs, standard):
        return costs
    if costs.memory_kib <= standard.memory_kib:
        return standard
    passes = -(-_work(standard) // costs.memory_kib)  # rounded up
    return KdfParams(memory_kib=costs.memory_kib, iterations=passes, lanes=standard.lanes)


def describe(costs: KdfParams) -> str:
    """The costs as a person reads them: "256 MiB, 3 passes, 1 lane"."""
    memory = (
        f"{costs.memory_kib // 1024} MiB"
        if costs.memory_kib % 1024 == 0
        else f"{costs.memory_kib} KiB"
    )
    passes = "1 pass" if costs.iterations == 1 else f"{costs.iterations} passes"
    lanes = "1 lane" if costs.lanes == 1 else f"{costs.lanes} lanes"
    return f"{memory}, {passes}, {lanes}"


class WeakKeySlot(StorageError):
    """The slot that opened has costs below the floor: refused, nothing changed."""

    def __init__(self, costs: KdfParams, policy: KdfPolicy) -> None:
        super().__init__(
            "This passphrase is right, but its slot in workspace.key was written with"
            f" Argon2id costs ({describe(costs)}) below the least Valise accepts"
            f" ({describe(policy.floor)}). Valise never writes such a slot: another program,"
            " a tampered copy or a test setting wrote it, and whoever did knew this"
            " passphrase. Nothing changed. Tell your supervisor; put back workspace.key from"
            " a backup, or recover the workspace with the paper shares or the escrow."
        )
