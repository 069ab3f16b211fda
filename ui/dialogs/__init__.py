"""Dialogs: each one owns a single question (unlock, create a workspace) and its answer."""
