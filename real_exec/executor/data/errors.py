"""The one error a data loader raises: a missing, wrong or truncated data file."""

from __future__ import annotations

__all__ = ["DataError"]


class DataError(ValueError):
    """A data set is missing, or a file is not what it should be; the message is one line
    naming the data set or file, what is wrong, and how to fix it."""
