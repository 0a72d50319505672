"""The product's error base class: its message is written for the operator, not for a debugger."""

from __future__ import annotations

from pydantic import ValidationError


class MinerError(Exception):
    """A failure with a clear, actionable message (shown as-is in the CLI, the API and the UI)."""


class ConfigError(MinerError, ValueError):
    """A setting is missing or malformed; the message names it and says what is expected.

    Defined here (and re-exported by `miner.config`) so that settings modules below config, such as
    `miner.fixes.settings`, can raise it without importing config."""


def describe(exc: BaseException) -> str:
    """One line for run history and the UI: the message of our own errors, the type otherwise."""
    if isinstance(exc, MinerError):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def first_error(exc: ValidationError) -> tuple[str, str, str]:
    """(where, message, type) of a validation error's first problem: `where` is the dotted field path."""
    err = exc.errors()[0]
    return ".".join(str(p) for p in err.get("loc", ())), err["msg"], err["type"]


def validation_line(exc: ValidationError) -> str:
    """A validation error's first problem in one line: "field.path: message"."""
    where, message, _ = first_error(exc)
    return f"{where}: {message}" if where else message
