"""The product's error base class: its message is written for the operator, not for a debugger."""


class MinerError(Exception):
    """A failure with a clear, actionable message (shown as-is in the CLI, the API and the UI)."""


def describe(exc: BaseException) -> str:
    """One line for run history and the UI: the message of our own errors, the type otherwise."""
    if isinstance(exc, MinerError):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
