"""Helpers every settings model shares (`miner.config.Settings`, `miner.fixes.settings`, the alert channels):
blank means unset, comma lists, URL, file and time zone checks, one-line validation messages, password masking. Below `config` so that the
settings modules config itself imports can use them."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


def blank_is_unset(value: Any) -> Any:
    """A setting given as blank text is not given."""
    return None if isinstance(value, str) and not value.strip() else value


def http_url(value: str | None) -> str | None:
    """An http:// or https:// URL, without a trailing slash."""
    if value is None:
        return None
    value = value.strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


def comma_list(value: Any) -> Any:
    """"a, b" or ["a", "b"] (a TOML array) as a tuple of the non-blank items, stripped; anything else as
    given, for the field's own type check to refuse."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        return value
    return tuple(str(item).strip() for item in items if str(item).strip())


def existing_file(value: Path | None) -> Path | None:
    """A file setting is read at start: a missing file is an error then, not at first use."""
    if value is not None and not value.is_file():
        raise ValueError(f"file not found: {value}")
    return value


def iana_timezone(value: str, *, name: str = "") -> str:
    """A time zone name the tz database knows (UTC, Europe/Berlin); `name` starts the message when the
    model's own field name would not say which setting it is."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name + ' ' if name else ''}must be an IANA time zone such as UTC or Europe/Berlin") from None
    return value


def explain(exc: ValidationError, model: type[BaseModel], *, secrets: Collection[str],
            urls: Collection[str] = ()) -> str:
    """One line naming each bad setting by its environment name; `secrets` are never echoed, and `urls`
    are shown with their password masked."""
    lines = []
    aliases = {name: field.alias for name, field in model.model_fields.items()}
    for error in exc.errors():
        loc = error.get("loc") or ()
        name = aliases.get(str(loc[0]), str(loc[0])) if loc else ""
        message = error["msg"].removeprefix("Value error, ")
        given = error.get("input")
        if name and not isinstance(given, dict):
            if name in secrets:
                shown = "(hidden)"
            elif name in urls and isinstance(given, str):
                shown = repr(mask_url_password(given))
            else:
                shown = repr(given)
            lines.append(f"{name}: {message} (got {shown})")
        else:
            lines.append(message)
    return "Invalid configuration: " + "; ".join(lines)


def mask_url_password(url: str) -> str:
    """A URL with its password (or a bare token before the @) hidden, for display.

    postgresql://user:secret@host/db -> postgresql://user:***@host/db;
    https://user:token@acme.zendesk.com -> https://user:***@acme.zendesk.com.
    """
    if not url.startswith(("http://", "https://")):
        try:
            return make_url(url).render_as_string(hide_password=True)
        except ArgumentError:
            return url
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0] if ":" in userinfo else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}" if user else f"***@{host}"))
