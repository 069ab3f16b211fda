"""The application shell: entry points (GUI and command line), start-up and wiring."""

from importlib import metadata

try:
    __version__ = metadata.version("valise")
except metadata.PackageNotFoundError:  # frozen builds carry a copy in _version
    from desktop._version import VERSION as __version__  # noqa: F401
