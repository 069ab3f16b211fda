"""Encrypted local storage for Valise: keys, schema, the one write path, evidence, audit, search.

This package imports nothing of ours and no Qt, so every capability works headless.
"""
