"""The one exception family of risk_model.

Every error a user can cause is a :class:`RiskModelError` (or a subclass) whose message says what
failed, the offending value (never an identifier such as an NHS number or a name) and how to fix
it. The CLI turns these into a clear message and a non-zero exit code; anything else is a bug.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataError",
    "OutputExistsError",
    "PromotionRefused",
    "RiskModelError",
    "WorkspaceError",
]


class RiskModelError(Exception):
    """Base class of every error risk_model raises on purpose.

    Parameters
    ----------
    message : str
        What failed and the offending value.
    hint : str, optional
        How to fix it, appended to the message.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message}. Fix: {hint}")


class ConfigError(RiskModelError):
    """A setting, option or configuration file holds a value that is not allowed."""


class WorkspaceError(RiskModelError):
    """The workspace folder is missing, unreadable or in an unexpected state."""


class OutputExistsError(WorkspaceError):
    """A command would overwrite outputs that already exist and ``--overwrite`` was not given."""


class DataError(RiskModelError):
    """Input data cannot be used as it is (unreadable file, missing column, bad value)."""


class PromotionRefused(RiskModelError):
    """A model version failed its promotion gates (the message lists every failed gate)."""
