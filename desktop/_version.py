"""Version used when package metadata is unavailable (a frozen build); kept equal to pyproject."""

VERSION = "0.1.0"
