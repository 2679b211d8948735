"""The one error the exports raise for a source they cannot export."""

from __future__ import annotations


class ExportError(ValueError):
    """The single source cannot be turned into an export (the message names the file and the name)."""
