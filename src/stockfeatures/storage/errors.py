"""Typed storage errors: each says what was wrong and that nothing was written."""

from __future__ import annotations


class StorageError(Exception):
    """Base class for every error raised by stockfeatures.storage."""


class InvalidFrame(StorageError, ValueError):
    """An input frame breaks the table's contract; the whole batch was rejected, nothing written."""

    def __init__(self, table: str, problems: list[str]):
        self.table = table
        self.problems = list(problems)
        listed = "; ".join(self.problems)
        super().__init__(
            f"{table}: batch rejected, nothing written: {listed} "
            "(see docs/design/frames.md for the expected columns)"
        )


class WriteFailed(StorageError):
    """The store refused the batch; the transaction was rolled back, so nothing was written."""


class MigrationFailed(StorageError):
    """A migration file failed; files before it stay applied, it and later ones do not."""
