"""Tracker settings: where issues are created and linked, and how long to wait for the trackers.

Read from the same sources as `miner.config.Settings` (environment and `.streamlit/secrets.toml`, the
same names); `FixSettings.load(values)` validates a mapping of them and raises `ConfigError` naming the
setting. Half-entered credentials are an error, never a silent "not configured".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from miner.errors import ConfigError
from miner.setting_values import blank_is_unset, explain, http_url

JIRA_PROJECT_KEY_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,9}$")  # Jira's default project key format
GITHUB_REPOSITORY_RE = re.compile(r"^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$")
SECRET_NAMES = frozenset({"JIRA_API_TOKEN", "GITHUB_TOKEN"})


class FixSettings(BaseModel):
    """Jira Cloud and GitHub settings. Field aliases are the environment variable names."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    jira_base_url: str | None = Field(None, alias="JIRA_BASE_URL")  # https://acme.atlassian.net
    jira_email: str | None = Field(None, alias="JIRA_EMAIL")
    jira_api_token: SecretStr | None = Field(None, alias="JIRA_API_TOKEN")
    jira_project_key: str | None = Field(None, alias="JIRA_PROJECT_KEY")  # where "Create issue" puts it
    jira_issue_type: str = Field("Bug", min_length=1, max_length=60, alias="JIRA_ISSUE_TYPE")
    github_repository: str | None = Field(None, alias="GITHUB_REPOSITORY")  # owner/repo
    github_token: SecretStr | None = Field(None, alias="GITHUB_TOKEN")
    github_api_url: str = Field("https://api.github.com", alias="GITHUB_API_URL")  # GitHub Enterprise: .../api/v3
    tracker_timeout: float = Field(20.0, gt=0, le=300, alias="MINER_TRACKER_TIMEOUT")
    tracker_max_wait: float = Field(60.0, ge=0, le=3600, alias="MINER_TRACKER_MAX_WAIT")

    @field_validator("jira_base_url", "jira_email", "jira_api_token", "jira_project_key", "github_repository",
                     "github_token", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return blank_is_unset(value)

    @field_validator("jira_base_url", "github_api_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return http_url(value)

    @field_validator("jira_project_key")
    @classmethod
    def _project_key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().upper()
        if not JIRA_PROJECT_KEY_RE.match(value):
            raise ValueError("must be a Jira project key such as SW (letters, digits, _; a letter first)")
        return value

    @field_validator("github_repository")
    @classmethod
    def _repository(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().removeprefix("https://github.com/").removesuffix(".git").strip("/")
        if not GITHUB_REPOSITORY_RE.match(value):
            raise ValueError("must be owner/repo, e.g. acme/shiftwise")
        return value

    @model_validator(mode="after")
    def _complete(self) -> FixSettings:
        jira = {"JIRA_BASE_URL": self.jira_base_url, "JIRA_EMAIL": self.jira_email,
                "JIRA_API_TOKEN": self.jira_api_token}
        if any(jira.values()) or self.jira_project_key:
            missing = [name for name, value in jira.items() if not value]
            if missing:
                raise ValueError("Jira is partly configured: it needs " + " and ".join(missing))
        if self.github_token and not self.github_repository:
            raise ValueError("GITHUB_TOKEN is set: GitHub also needs GITHUB_REPOSITORY (owner/repo)")
        if self.github_repository and not self.github_token:
            raise ValueError("GITHUB_REPOSITORY is set: GitHub also needs GITHUB_TOKEN")
        return self

    # --- derived -----------------------------------------------------------------------------
    @property
    def jira_configured(self) -> bool:
        return bool(self.jira_base_url and self.jira_email and self.jira_api_token)

    @property
    def github_configured(self) -> bool:
        return bool(self.github_repository and self.github_token)

    @property
    def configured(self) -> tuple[str, ...]:
        """The trackers with settings ("jira", "github"), for the health checks."""
        return tuple(name for name, on in (("jira", self.jira_configured), ("github", self.github_configured)) if on)

    # --- loading -----------------------------------------------------------------------------
    @classmethod
    def load(cls, values: Mapping[str, Any]) -> FixSettings:
        """Validate settings given by their names (JIRA_BASE_URL, ...); other keys are ignored."""
        try:
            return cls.model_validate(dict(values))
        except ValidationError as exc:
            raise ConfigError(explain(exc, cls, secrets=SECRET_NAMES)) from None

