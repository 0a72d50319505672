"""Settings: one immutable object read from environment variables and `.streamlit/secrets.toml`.

Environment variables win over the secrets file; both use the same names (the public contract listed
in README "Configuration"). Every value is validated here, once, and a bad value produces a single
`ConfigError` whose message names the setting. Secrets are `SecretStr` so they never reach logs or
the UI by accident; `Settings.describe()` gives a masked view for display.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit
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

from miner.errors import ConfigError as ConfigError  # re-exported: the name every caller uses
from miner.fixes.settings import FixSettings
from miner.setting_values import blank_is_unset as blank_is_unset
from miner.setting_values import comma_list, existing_file, iana_timezone
from miner.setting_values import explain as explain
from miner.setting_values import http_url as http_url
from miner.setting_values import mask_url_password as mask_url_password

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TAXONOMY = Path(__file__).resolve().parent / "analysis" / "taxonomy.toml"
DEFAULT_CLAUDE_MODEL = "claude-haiku-5-5"


class Settings(BaseModel):
    """All runtime configuration. Field aliases are the environment variable names."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    # --- storage -----------------------------------------------------------------------------
    database_url: str = Field("sqlite:///data/miner.db", alias="DATABASE_URL", repr=False)  # may hold a password

    # --- Zendesk -----------------------------------------------------------------------------
    zendesk_subdomain: str | None = Field(None, alias="ZENDESK_SUBDOMAIN")
    zendesk_email: str | None = Field(None, alias="ZENDESK_EMAIL")
    zendesk_api_token: SecretStr | None = Field(None, alias="ZENDESK_API_TOKEN")
    zendesk_oauth_token: SecretStr | None = Field(None, alias="ZENDESK_OAUTH_TOKEN")
    zendesk_base_url: str | None = Field(None, alias="ZENDESK_BASE_URL")
    zendesk_incremental_rpm: int = Field(10, ge=0, le=1000, alias="ZENDESK_INCREMENTAL_RPM")
    zendesk_max_wait_seconds: float = Field(300.0, gt=0, le=3600, alias="ZENDESK_MAX_WAIT_SECONDS")
    source: Literal["zendesk", "demo"] | None = Field(None, alias="MINER_SOURCE")
    initial_sync_days: int = Field(120, ge=1, le=3650, alias="MINER_INITIAL_SYNC_DAYS")
    demo_tickets: int = Field(6000, ge=100, le=500_000, alias="MINER_DEMO_TICKETS")

    # --- Claude / analysis -------------------------------------------------------------------
    anthropic_api_key: SecretStr | None = Field(None, alias="ANTHROPIC_API_KEY")
    anthropic_base_url: str | None = Field(None, alias="ANTHROPIC_BASE_URL")
    analyzer: Literal["auto", "claude", "offline"] = Field("auto", alias="MINER_ANALYZER")
    claude_model: str = Field(DEFAULT_CLAUDE_MODEL, min_length=1, alias="MINER_CLAUDE_MODEL")
    analyze_concurrency: int = Field(8, ge=1, le=64, alias="MINER_ANALYZE_CONCURRENCY")
    analyze_max_attempts: int = Field(3, ge=1, le=20, alias="MINER_ANALYZE_MAX_ATTEMPTS")
    analyze_max_failure_rate: float = Field(0.5, ge=0, le=1, alias="MINER_ANALYZE_MAX_FAILURE_RATE")
    ticket_token_budget: int = Field(1500, ge=100, le=50_000, alias="MINER_TICKET_TOKEN_BUDGET")
    run_budget_usd: float | None = Field(None, gt=0, alias="MINER_RUN_BUDGET_USD")
    batch_api_threshold: int = Field(1000, ge=1, alias="MINER_BATCH_THRESHOLD")
    use_batch_api: bool = Field(False, alias="MINER_USE_BATCH_API")
    taxonomy_path: Path = Field(DEFAULT_TAXONOMY, alias="MINER_TAXONOMY")
    prices_path: Path | None = Field(None, alias="MINER_PRICES")

    # --- clustering --------------------------------------------------------------------------
    embeddings: str = Field("wordllama", min_length=1, alias="MINER_EMBEDDINGS")

    # --- operations --------------------------------------------------------------------------
    timezone: str = Field("UTC", alias="MINER_TIMEZONE")
    api_token: SecretStr | None = Field(None, alias="MINER_API_TOKEN")
    manual_runs_per_hour: int = Field(5, ge=0, le=1000, alias="MINER_MANUAL_RUNS_PER_HOUR")
    retention_days: int = Field(90, ge=1, le=3650, alias="MINER_RETENTION_DAYS")
    purge_deleted_after_days: int = Field(30, ge=0, le=3650, alias="MINER_PURGE_DELETED_AFTER_DAYS")
    scheduler_enabled: bool = Field(True, alias="MINER_SCHEDULER")
    dashboard_password: SecretStr | None = Field(None, alias="MINER_DASHBOARD_PASSWORD")
    admins: tuple[str, ...] = Field((), alias="MINER_ADMINS")
    local_access: bool | None = Field(None, alias="MINER_LOCAL_ACCESS")  # None: automatic (see access.py)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", alias="MINER_LOG_LEVEL")
    # where people open the dashboard (https://miner.example.com): links in alerts point there
    public_url: str | None = Field(None, alias="MINER_PUBLIC_URL")

    # --- fix tracking (Jira Cloud, GitHub): same sources and names, validated by FixSettings --------
    fixes: FixSettings = Field(default_factory=lambda: FixSettings.model_validate({}))

    # ------------------------------------------------------------------------------------------
    @field_validator("zendesk_subdomain", "zendesk_email", "zendesk_base_url", "anthropic_base_url", "source",
                     "prices_path", "local_access", "zendesk_api_token", "zendesk_oauth_token", "anthropic_api_key",
                     "api_token", "dashboard_password", "run_budget_usd", "public_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return blank_is_unset(value)

    @field_validator("zendesk_subdomain")
    @classmethod
    def _subdomain(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower()
        if value.endswith(".zendesk.com"):
            value = value.removesuffix(".zendesk.com")
        if not value.replace("-", "").isalnum():
            raise ValueError("must be the part before .zendesk.com, e.g. 'acme' for acme.zendesk.com")
        return value

    @field_validator("zendesk_base_url", "anthropic_base_url", "public_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return http_url(value)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        value = value.strip()
        if value.startswith("postgres://"):  # Heroku-style URLs
            value = "postgresql://" + value.removeprefix("postgres://")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        if not value.startswith(("sqlite://", "postgresql+psycopg://")):
            raise ValueError("must be sqlite:///path/to/file.db or postgresql://user@host/db")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return iana_timezone(value)

    @field_validator("admins", mode="before")
    @classmethod
    def _admins(cls, value: Any) -> Any:
        items = comma_list(value)
        return tuple(item.lower() for item in items) if isinstance(items, tuple) else items

    @field_validator("taxonomy_path", "prices_path")
    @classmethod
    def _existing_file(cls, value: Path | None) -> Path | None:
        return existing_file(value)

    @field_validator("taxonomy_path")
    @classmethod
    def _taxonomy(cls, value: Path) -> Path:
        from miner.analysis.taxonomy import TaxonomyError, load_taxonomy

        try:  # parsed now, so a wrong file stops the start instead of the first analysis
            load_taxonomy(value)
        except TaxonomyError as exc:
            raise ValueError(f"not a taxonomy file ({_without_setting_name(exc)})") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read {value} ({type(exc).__name__})") from None
        return value

    @field_validator("prices_path")
    @classmethod
    def _prices(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        from miner.analysis.pricing import PriceTableError, load_prices

        try:
            load_prices(value)
        except PriceTableError as exc:
            raise ValueError(f"not a price table ({_without_setting_name(exc)})") from None
        except UnicodeDecodeError:
            raise ValueError(f"cannot read {value} (not UTF-8 text)") from None
        return value

    @field_validator("embeddings")
    @classmethod
    def _embeddings(cls, value: str) -> str:
        value = value.strip()
        if value == "wordllama":
            return value
        prefix = "sentence-transformers:"
        if value.startswith(prefix) and value[len(prefix):].strip():
            from miner.clustering.embeddings import sentence_transformer_source

            sentence_transformer_source(value[len(prefix):].strip())  # a folder that exists, or a model id
            return value
        raise ValueError("must be 'wordllama' (the default), 'sentence-transformers:/path/to/local/model' or "
                         "'sentence-transformers:org/model-id' (a Hugging Face model id)")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _zendesk_credentials(self) -> Settings:
        partial = any([self.zendesk_subdomain, self.zendesk_base_url, self.zendesk_email,
                       self.zendesk_api_token, self.zendesk_oauth_token])
        # Half-entered credentials must not silently fall back to the demo data.
        if self.source == "zendesk" or (self.source is None and partial):
            missing = []
            if not (self.zendesk_subdomain or self.zendesk_base_url):
                missing.append("ZENDESK_SUBDOMAIN (or ZENDESK_BASE_URL)")
            if not (self.zendesk_api_token or self.zendesk_oauth_token):
                missing.append("ZENDESK_API_TOKEN (or ZENDESK_OAUTH_TOKEN)")
            if self.zendesk_api_token and not self.zendesk_email:
                missing.append("ZENDESK_EMAIL (needed with ZENDESK_API_TOKEN)")
            if missing:
                why = "MINER_SOURCE=zendesk" if self.source else "Zendesk is partly configured:"
                raise ValueError(f"{why} needs " + " and ".join(missing)
                                 + ("" if self.source else " (or set MINER_SOURCE=demo)"))
        if self.analyzer == "claude" and not self.anthropic_api_key:
            raise ValueError("MINER_ANALYZER=claude needs ANTHROPIC_API_KEY")
        return self

    # --- derived -----------------------------------------------------------------------------
    @property
    def zendesk_configured(self) -> bool:
        return bool(
            (self.zendesk_subdomain or self.zendesk_base_url)
            and (self.zendesk_oauth_token or (self.zendesk_api_token and self.zendesk_email))
        )

    @property
    def effective_source(self) -> Literal["zendesk", "demo"]:
        if self.source is not None:
            return self.source
        return "zendesk" if self.zendesk_configured else "demo"

    @property
    def zendesk_url(self) -> str | None:
        """Base URL of the Zendesk account (the real one, not the demo server)."""
        if self.zendesk_base_url:
            return self.zendesk_base_url
        if self.zendesk_subdomain:
            return f"https://{self.zendesk_subdomain}.zendesk.com"
        return None

    @property
    def zendesk_public_url(self) -> str | None:
        """`zendesk_url` without any credentials in it: for links and text on the pages."""
        return without_userinfo(self.zendesk_url) if self.zendesk_url else None

    @property
    def effective_analyzer(self) -> Literal["claude", "offline"]:
        if self.analyzer == "auto":
            return "claude" if self.anthropic_api_key else "offline"
        return self.analyzer

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def describe(self) -> list[dict[str, str]]:
        """Every setting with its current value, secrets masked: for `status` and the Settings page."""
        rows = []
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if isinstance(value, FixSettings):
                rows += describe_fixes(value)
                continue
            if isinstance(value, SecretStr):
                shown = mask_secret(value.get_secret_value())
            elif value is None:
                shown = "automatic" if name == "local_access" else "(not set)"
            elif isinstance(value, tuple):
                shown = ", ".join(value) or "(none)"
            elif name in ("database_url", "zendesk_base_url", "anthropic_base_url"):
                shown = mask_url_password(value)
            else:
                shown = str(value)
            rows.append({"setting": field.alias or name, "value": shown})
        return rows

    # --- loading -----------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        env: Mapping[str, str] | None = None,
        secrets_file: Path | Literal[False] | None = None,
        **overrides: Any,
    ) -> Settings:
        """Read settings: defaults < secrets.toml < environment < explicit overrides.

        `secrets_file=False` skips the file (tests); `None` looks in the usual Streamlit places.
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        if secrets_file is not False:
            values.update(_renamed(_read_secrets(secrets_file or _find_secrets_file(env))))
        names = {field.alias for field in cls.model_fields.values() if field.alias} | FIX_NAMES
        values.update({key: val for key, val in _renamed(env).items() if key in names})
        if "fixes" not in overrides:  # the tracker settings: their own model and their own messages
            values["fixes"] = FixSettings.load({key: val for key, val in values.items() if key in FIX_NAMES})
        values.update(overrides)
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise ConfigError(explain(exc, cls, secrets=_SECRET_NAMES,
                                      urls={"DATABASE_URL", "ZENDESK_BASE_URL", "ANTHROPIC_BASE_URL"})) from None


FIX_NAMES = frozenset(field.alias for field in FixSettings.model_fields.values() if field.alias)


def describe_fixes(fixes: FixSettings) -> list[dict[str, str]]:
    """The tracker settings as `Settings.describe` rows, secrets masked."""
    rows = []
    for name, field in FixSettings.model_fields.items():
        value = getattr(fixes, name)
        if isinstance(value, SecretStr):
            shown = mask_secret(value.get_secret_value())
        else:
            shown = "(not set)" if value is None else str(value)
        rows.append({"setting": field.alias or name, "value": shown})
    return rows


RENAMED = {"MINER_MANUAL_SYNCS_PER_HOUR": "MINER_MANUAL_RUNS_PER_HOUR"}  # old name -> new name


def _renamed(source: Mapping[str, Any]) -> dict[str, Any]:
    """One source's settings with old names under their new ones (the new name wins within a source)."""
    values = dict(source)
    for old, new in RENAMED.items():
        if old in values and new not in values:
            values[new] = values[old]
    return values


def _find_secrets_file(env: Mapping[str, str]) -> Path | None:
    if env.get("MINER_SECRETS_FILE"):
        return Path(env["MINER_SECRETS_FILE"])
    for candidate in (
        Path.cwd() / ".streamlit" / "secrets.toml",
        PROJECT_ROOT / ".streamlit" / "secrets.toml",
        Path.home() / ".streamlit" / "secrets.toml",
    ):
        if candidate.is_file():
            return candidate
    return None


def _read_secrets(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"MINER_SECRETS_FILE: file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"MINER_SECRETS_FILE: {path} is a folder; point it at a TOML file") from None
    except PermissionError:
        raise ConfigError(f"MINER_SECRETS_FILE: no permission to read {path}") from None
    except OSError as exc:
        raise ConfigError(f"MINER_SECRETS_FILE: cannot read {path} ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    # Only top-level scalars are settings; tables such as [auth] belong to Streamlit itself.
    return {key: value for key, value in data.items() if not isinstance(value, dict)}


def secrets_table(name: str, env: Mapping[str, str] | None = None,
                  secrets_file: Path | Literal[False] | None = None) -> dict[str, Any]:
    """One table of the secrets file (e.g. `[alerts]`), found like `Settings.load` finds the file; {} if absent."""
    if secrets_file is False:
        return {}
    env = os.environ if env is None else env
    path = secrets_file or _find_secrets_file(env)
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}  # Settings.load, which runs first, reports an unreadable file
    table = data.get(name)
    return dict(table) if isinstance(table, dict) else {}


_SECRET_NAMES = {
    "ZENDESK_API_TOKEN",
    "ZENDESK_OAUTH_TOKEN",
    "ANTHROPIC_API_KEY",
    "MINER_API_TOKEN",
    "MINER_DASHBOARD_PASSWORD",
}


def _without_setting_name(exc: Exception) -> str:
    text = str(exc)
    for name in ("MINER_TAXONOMY", "MINER_PRICES"):
        text = text.removeprefix(name).lstrip(": ")
    return text


SECRET_MASK = "••••••••"


def mask_secret(value: str) -> str:
    """Whether a secret is set, and nothing else: not its length, not a single character of it."""
    return SECRET_MASK if value else "(not set)"


def without_userinfo(url: str) -> str:
    """https://user:token@host/path -> https://host/path: for links and text shown to anyone."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
