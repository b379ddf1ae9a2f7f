"""Warehouse errors, split by what the caller should do.

IngestError
└── WarehouseError          (itself) the warehouse file cannot be opened: fix or restore it
    ├── WarehouseLocked     another process is writing: wait and retry later
    ├── MigrationError      the file's schema is newer than this paperflow, or a migration failed
    └── LoadError           a load failed and changed nothing; safe to retry (loads are idempotent)
"""

from __future__ import annotations

from parsers.errors import IngestError


class WarehouseError(IngestError):
    """Root of warehouse errors."""


class WarehouseLocked(WarehouseError):
    """The single-writer lock could not be taken within the wait budget."""

    def __init__(self, path: str, waited_s: float, holder: str | None = None) -> None:
        self.path = path
        self.waited_s = waited_s
        who = f" (held by {holder})" if holder else ""
        super().__init__(
            f"warehouse busy: {path} is being written by another process{who}; "
            f"gave up after {waited_s:.0f} s — try again when it finishes"
        )


class MigrationError(WarehouseError):
    """The schema could not be brought to this version."""


class LoadError(WarehouseError):
    """A load failed and changed nothing (its transaction rolled back, or its copy deleted)."""
