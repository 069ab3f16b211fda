"""The `valise` subcommands, one module per area."""

from __future__ import annotations

import argparse
from typing import Any

from desktop.commands import (
    demo_cmd,
    evidence_cmds,
    history_cmds,
    parked_cmds,
    policy_cmds,
    record_cmds,
    recovery_cmds,
    sync_cmds,
    trust_cmds,
    user_cmds,
    workspace_cmds,
)


def register_all(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add every subcommand to the parser."""
    modules = (
        workspace_cmds,
        user_cmds,
        recovery_cmds,
        record_cmds,
        evidence_cmds,
        history_cmds,
        sync_cmds,
        trust_cmds,
        parked_cmds,
        policy_cmds,
        demo_cmd,
    )
    for module in modules:
        module.register(commands, common)
