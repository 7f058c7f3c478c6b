"""Errors services raise, which pages answer with a form error and the API with problem+json."""

from __future__ import annotations


class VersionConflict(Exception):
    """The record changed since the caller read it (If-Match / optimistic concurrency)."""

    def __init__(self, *, current_version: int) -> None:
        super().__init__(f"the record is now at version {current_version}")
        self.current_version = current_version
