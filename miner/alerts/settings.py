"""Alert settings: the channels (Slack, Teams, e-mail, signed webhook), which rules each receives, its
minimum cluster size and quiet hours, and how hard the deliverer tries.

Two sources, like every setting (README "Alerts"): environment variables `MINER_ALERT_<CHANNEL>_<FIELD>`
(e.g. `MINER_ALERT_OPS_TYPE=slack`, `MINER_ALERT_OPS_URL=...`) and the `[alerts]` table of
`.streamlit/secrets.toml` (`[alerts.channels.ops]`, fields in lower case); the environment wins field by
field. A bad value is one `ConfigError` line naming the setting; secrets never appear in it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from miner.config import ConfigError, mask_secret, secrets_table, without_userinfo
from miner.setting_values import blank_is_unset, comma_list, existing_file, iana_timezone
from miner.vocabulary import AlertRule, ChannelType

ENV_PREFIX = "MINER_ALERT_"
# Settings of the deliverer as a whole (MINER_ALERT_<NAME>); everything else under the prefix is a channel's.
GLOBAL_FIELDS = ("MAX_ATTEMPTS", "TIMEOUT", "CLAIM_SECONDS", "FAILING_AFTER")
# A channel's fields, longest first so MINER_ALERT_OPS_SMTP_PASSWORD is not read as channel "OPS_SMTP".
CHANNEL_FIELDS = tuple(sorted((
    "TYPE", "URL", "SECRET", "RULES", "MIN_SIZE", "QUIET_HOURS", "SMTP_HOST", "SMTP_PORT", "SMTP_USER",
    "SMTP_PASSWORD", "SMTP_STARTTLS", "SMTP_IMPLICIT_TLS", "SMTP_CA_FILE", "FROM", "TO",
), key=len, reverse=True))
SECRET_FIELDS = frozenset({"url", "secret", "smtp_password"})
CHANNEL_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,25}$")  # fits health_checks.component with "alert:"
QUIET_HOURS_RE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DEFAULT_RULES = (AlertRule.EMERGING, AlertRule.REGRESSION)


class QuietHours(BaseModel):
    """A daily window in local time when a channel gets nothing: deliveries wait until it ends."""

    model_config = ConfigDict(frozen=True)

    start: time
    end: time  # may be before start: the window runs over midnight

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        match = QUIET_HOURS_RE.match(text.strip())
        if not match:
            raise ValueError("must be HH:MM-HH:MM in local time, e.g. 22:00-07:00")
        h1, m1, h2, m2 = (int(part) for part in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ValueError("hours 0-23 and minutes 0-59, e.g. 22:00-07:00")
        if (h1, m1) == (h2, m2):
            raise ValueError("start and end are the same; leave it unset for no quiet hours")
        return cls(start=time(h1, m1), end=time(h2, m2))

    def contains(self, local: time) -> bool:
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def held_until(self, now: datetime, tz: tzinfo) -> datetime | None:
        """When the window that `now` falls in ends (aware), or None if `now` is outside it."""
        local = now.astimezone(tz)
        if not self.contains(local.timetz().replace(tzinfo=None)):
            return None
        end = datetime.combine(local.date(), self.end, tzinfo=tz)
        if end <= local:
            end += timedelta(days=1)
        return end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


class ChannelSettings(BaseModel):
    """One alert channel."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    type: ChannelType
    url: SecretStr | None = None  # Slack/Teams/webhook URL (a Slack or Teams URL is itself a credential)
    secret: SecretStr | None = None  # webhook: the HMAC-SHA256 key
    rules: tuple[AlertRule, ...] = DEFAULT_RULES
    min_size: int = Field(default=0, ge=0, le=1_000_000)  # tickets in the cluster, for emerging and regression
    quiet_hours: QuietHours | None = None
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_implicit_tls: bool | None = None  # TLS from the first byte (SMTPS); None: on for port 465 only
    smtp_ca_file: Path | None = None  # a private CA for the SMTP server's certificate (default: the system's)
    from_: str | None = Field(default=None, alias="from")
    to: tuple[str, ...] = ()

    @field_validator("url", "secret", "smtp_host", "smtp_user", "smtp_password", "from_", "quiet_hours",
                     "smtp_ca_file", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return blank_is_unset(value)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip().lower()
        if not CHANNEL_NAME_RE.match(value):
            raise ValueError("a channel name is letters, digits, - and _ (at most 26)")
        return value

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        value = value.strip().lower() if isinstance(value, str) else value
        if value not in ChannelType.values():
            raise ValueError(f"must be one of {', '.join(ChannelType.values())}")
        return value

    @field_validator("rules", mode="before")
    @classmethod
    def _rules(cls, value: Any) -> Any:
        items = comma_list(value)
        if not isinstance(items, tuple):
            return value
        rules = [item.lower() for item in items]
        allowed = (AlertRule.EMERGING, AlertRule.REGRESSION, AlertRule.DIGEST)
        bad = [rule for rule in rules if rule not in allowed]
        if bad:
            raise ValueError(f"unknown rule {bad[0]!r}; use {', '.join(allowed)}")
        return tuple(dict.fromkeys(rules))

    @field_validator("quiet_hours", mode="before")
    @classmethod
    def _quiet_hours(cls, value: Any) -> Any:
        return QuietHours.parse(value) if isinstance(value, str) else value

    @field_validator("to", mode="before")
    @classmethod
    def _to(cls, value: Any) -> Any:
        addresses = comma_list(value)
        if not isinstance(addresses, tuple):
            return value
        for address in addresses:
            if not EMAIL_RE.match(address):
                raise ValueError(f"comma-separated e-mail addresses expected; {address!r} is not one")
        return addresses

    @field_validator("smtp_ca_file")
    @classmethod
    def _ca_file(cls, value: Path | None) -> Path | None:
        return existing_file(value)

    @field_validator("url")
    @classmethod
    def _url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip().startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return SecretStr(value.get_secret_value().strip()) if value is not None else None

    @model_validator(mode="after")
    def _complete(self) -> ChannelSettings:
        prefix = f"{ENV_PREFIX}{self.name.upper()}_"
        if self.type is ChannelType.EMAIL:
            missing = [prefix + name for name, value in (("SMTP_HOST", self.smtp_host), ("FROM", self.from_),
                                                         ("TO", self.to)) if not value]
            if self.smtp_user and not self.smtp_password:
                missing.append(prefix + "SMTP_PASSWORD (needed with SMTP_USER)")
            if self.from_ and not EMAIL_RE.match(self.from_):
                raise ValueError(f"{prefix}FROM: not an e-mail address")
        else:
            missing = [] if self.url else [prefix + "URL"]
            if self.type is ChannelType.WEBHOOK and not self.secret:
                missing.append(prefix + "SECRET (the webhook is signed with it)")
        if missing:
            raise ValueError(f"channel {self.name!r} ({self.type}) needs " + " and ".join(missing))
        return self

    @property
    def implicit_tls(self) -> bool:
        """Whether the SMTP connection is TLS from the start: port 465 (RFC 8314), unless told otherwise."""
        return self.smtp_port == 465 if self.smtp_implicit_tls is None else self.smtp_implicit_tls

    def describe(self) -> dict[str, str]:
        """The channel for display: where it goes with credentials masked, what it receives."""
        if self.type is ChannelType.EMAIL:
            tls = "implicit TLS" if self.implicit_tls else "STARTTLS" if self.smtp_starttls else "no TLS"
            where = f"{', '.join(self.to)} via {self.smtp_host}:{self.smtp_port} ({tls})"
            credentials = f"user {self.smtp_user}, password {mask_secret(self._plain(self.smtp_password))}" \
                if self.smtp_user else "no login"
        else:
            where = mask_url(self._plain(self.url))
            credentials = f"secret {mask_secret(self._plain(self.secret))}" if self.type is ChannelType.WEBHOOK else ""
        return {"channel": self.name, "type": self.type.value, "destination": where, "credentials": credentials,
                "rules": ", ".join(self.rules) or "(none)", "min size": str(self.min_size),
                "quiet hours": str(self.quiet_hours) if self.quiet_hours else "(none)"}

    @staticmethod
    def _plain(value: SecretStr | None) -> str:
        return value.get_secret_value() if value is not None else ""


class AlertSettings(BaseModel):
    """Every channel, and how the deliverer behaves."""

    model_config = ConfigDict(frozen=True)

    channels: tuple[ChannelSettings, ...] = ()
    max_attempts: int = Field(default=8, ge=1, le=100)  # MINER_ALERT_MAX_ATTEMPTS: then the delivery is "failed"
    timeout: float = Field(default=10.0, gt=0, le=300)  # MINER_ALERT_TIMEOUT: seconds per request
    claim_seconds: float = Field(default=120.0, ge=5, le=3600)  # MINER_ALERT_CLAIM_SECONDS: a claim older is retried
    failing_after: int = Field(default=3, ge=1, le=100)  # MINER_ALERT_FAILING_AFTER: failures in a row = unhealthy
    timezone: str = "UTC"  # MINER_TIMEZONE: quiet hours are local time there
    public_url: str | None = None  # MINER_PUBLIC_URL: links to cluster pages

    @field_validator("channels")
    @classmethod
    def _unique(cls, value: tuple[ChannelSettings, ...]) -> tuple[ChannelSettings, ...]:
        names = [channel.name for channel in value]
        duplicate = next((name for name in names if names.count(name) > 1), None)
        if duplicate:
            raise ValueError(f"channel {duplicate!r} is configured twice")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return iana_timezone(value, name="MINER_TIMEZONE")  # not an alert setting: the message names it

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def channel(self, name: str) -> ChannelSettings:
        for channel in self.channels:
            if channel.name == name.strip().lower():
                return channel
        known = ", ".join(c.name for c in self.channels) or "none is configured (README: Alerts)"
        raise ConfigError(f"no alert channel {name!r}; channels: {known}")

    def cluster_url(self, cluster_id: int) -> str | None:
        """The cluster's page on the dashboard (Streamlit pages take their query string)."""
        return f"{self.public_url}/cluster?id={cluster_id}" if self.public_url else None

    # --- loading -----------------------------------------------------------------------------
    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, secrets_file: Path | Literal[False] | None = None, *,
             timezone: str = "UTC", public_url: str | None = None) -> AlertSettings:
        """Channels and deliverer settings from the `[alerts]` secrets table and MINER_ALERT_* variables."""
        import os

        env = os.environ if env is None else env
        table = secrets_table("alerts", env, secrets_file)
        values: dict[str, Any] = {k: v for k, v in table.items() if k != "channels"}
        channels: dict[str, dict[str, Any]] = {}
        for name, fields in (table.get("channels") or {}).items():
            if not isinstance(fields, dict):
                raise ConfigError(f"[alerts.channels.{name}] in secrets.toml: expected a table of fields")
            channels[str(name).lower()] = {str(k).lower(): v for k, v in fields.items()}
        for key, value in env.items():
            if not key.startswith(ENV_PREFIX):
                continue
            rest = key.removeprefix(ENV_PREFIX)
            if rest in GLOBAL_FIELDS:
                values[rest.lower()] = value
                continue
            field = next((f for f in CHANNEL_FIELDS if rest.endswith("_" + f) and len(rest) > len(f) + 1), None)
            if field is None:
                raise ConfigError(f"{key}: not an alert setting; expected {ENV_PREFIX}<CHANNEL>_<FIELD> with FIELD "
                                  f"one of {', '.join(sorted(CHANNEL_FIELDS))}, or {ENV_PREFIX}"
                                  f"{{{','.join(GLOBAL_FIELDS)}}}")
            channels.setdefault(rest[: -len(field) - 1].lower(), {})[field.lower()] = value
        values["channels"] = [{"name": name, **fields} for name, fields in sorted(channels.items())]
        values.update(timezone=timezone, public_url=public_url)
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise ConfigError(explain(exc, values)) from None


def explain(exc: ValidationError, values: Mapping[str, Any]) -> str:
    """One line per error, naming the environment variable; secrets are never echoed."""
    lines = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc") or ()]
        message = error["msg"].removeprefix("Value error, ")
        if loc[:1] == ["channels"] and len(loc) >= 2 and loc[1].isdigit():
            channel = values["channels"][int(loc[1])]["name"]
            field = loc[2].rstrip("_") if len(loc) > 2 else ""
            if not field:  # the channel as a whole (a missing field): the message names the variables
                lines.append(message)
                continue
            given = error.get("input")
            shown = "" if isinstance(given, dict) else " (got (hidden))" if field in SECRET_FIELDS else f" (got {given!r})"
            lines.append(f"{ENV_PREFIX}{channel.upper()}_{field.upper()}: {message}{shown}")
        elif loc:
            lines.append(f"{ENV_PREFIX}{loc[0].upper()}: {message} (got {error.get('input')!r})")
        else:
            lines.append(message)
    return "Invalid alert configuration: " + "; ".join(lines)


def mask_url(url: str) -> str:
    """https://hooks.slack.com/services/T0/B0/XYZ -> https://hooks.slack.com/•••• : the host, never the path,
    which is the credential of an incoming webhook."""
    if not url:
        return "(not set)"
    from urllib.parse import urlsplit

    parts = urlsplit(without_userinfo(url))
    return f"{parts.scheme}://{parts.netloc}/••••"
