"""Tracker settings: what counts as configured, and bad values named in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from miner.config import ConfigError, Settings
from miner.fixes.service import close_trackers, make_trackers
from miner.fixes.settings import FixSettings

JIRA = {"JIRA_BASE_URL": "https://acme.atlassian.net/", "JIRA_EMAIL": "pm@acme.example",
        "JIRA_API_TOKEN": "s3cret-token", "JIRA_PROJECT_KEY": "sw"}
GITHUB = {"GITHUB_REPOSITORY": "https://github.com/acme/app.git", "GITHUB_TOKEN": "github_pat_s3cret"}


def test_nothing_set_means_no_tracker_and_blank_values_are_unset() -> None:
    settings = FixSettings.load({"JIRA_BASE_URL": " ", "GITHUB_TOKEN": ""})
    assert (settings.jira_configured, settings.github_configured) == (False, False)
    assert make_trackers(settings) == {}


def test_complete_settings_configure_both_trackers_in_their_canonical_form() -> None:
    settings = FixSettings.load(JIRA | GITHUB)
    assert (settings.jira_base_url, settings.jira_project_key, settings.github_repository) == (
        "https://acme.atlassian.net", "SW", "acme/app")
    trackers = make_trackers(settings)
    assert sorted(trackers) == ["github", "jira"]
    close_trackers(trackers)


def test_half_entered_jira_credentials_name_what_is_missing() -> None:
    with pytest.raises(ConfigError, match="Jira is partly configured: it needs JIRA_EMAIL and JIRA_API_TOKEN"):
        FixSettings.load({"JIRA_BASE_URL": "https://acme.atlassian.net"})


def test_a_project_key_alone_is_half_entered_jira() -> None:
    with pytest.raises(ConfigError, match="it needs JIRA_BASE_URL and JIRA_EMAIL and JIRA_API_TOKEN"):
        FixSettings.load({"JIRA_PROJECT_KEY": "SW"})


def test_a_github_token_needs_a_repository() -> None:
    with pytest.raises(ConfigError, match=r"GitHub also needs GITHUB_REPOSITORY \(owner/repo\)"):
        FixSettings.load({"GITHUB_TOKEN": "t"})


@pytest.mark.parametrize(("name", "value", "message"), [
    ("JIRA_BASE_URL", "acme.atlassian.net", "JIRA_BASE_URL: must be an http:// or https:// URL"),
    ("JIRA_PROJECT_KEY", "my project", "JIRA_PROJECT_KEY: must be a Jira project key such as SW"),
    ("GITHUB_REPOSITORY", "acme", "GITHUB_REPOSITORY: must be owner/repo"),
    ("MINER_TRACKER_TIMEOUT", "0", "MINER_TRACKER_TIMEOUT: Input should be greater than 0"),
])
def test_a_bad_value_is_named_with_what_is_expected(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        FixSettings.load(JIRA | GITHUB | {name: value})


def test_secrets_never_appear_in_the_message() -> None:
    with pytest.raises(ConfigError) as caught:
        FixSettings.load(JIRA | {"JIRA_API_TOKEN": ["s3cret-token"]})
    assert "JIRA_API_TOKEN" in str(caught.value)
    assert "s3cret" not in str(caught.value)


# --- through the app's Settings -------------------------------------------------------------------


def test_the_apps_settings_read_tracker_settings_from_secrets_and_the_environment(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('JIRA_BASE_URL = "https://old.atlassian.net"\nJIRA_EMAIL = "pm@acme.example"\n'
                       'JIRA_API_TOKEN = "s3cret-token"\nGITHUB_REPOSITORY = "acme/app"\nGITHUB_TOKEN = "ghp"\n',
                       encoding="utf-8")
    settings = Settings.load(env={"JIRA_BASE_URL": "https://acme.atlassian.net", "MINER_TRACKER_TIMEOUT": "5"},
                             secrets_file=secrets)
    fixes = settings.fixes
    assert (fixes.jira_base_url, fixes.github_repository, fixes.tracker_timeout) == (
        "https://acme.atlassian.net", "acme/app", 5.0)  # the environment wins, as for every setting
    shown = {row["setting"]: row["value"] for row in settings.describe()}
    assert shown["JIRA_BASE_URL"] == "https://acme.atlassian.net" and shown["MINER_TRACKER_MAX_WAIT"] == "60.0"
    assert "s3cret-token" not in str(shown) and shown["JIRA_API_TOKEN"] == "••••••••"


def test_a_bad_tracker_setting_stops_the_apps_settings_naming_it() -> None:
    with pytest.raises(ConfigError, match="MINER_TRACKER_TIMEOUT"):
        Settings.load(env={"MINER_TRACKER_TIMEOUT": "soon"}, secrets_file=False)
    with pytest.raises(ConfigError, match="GITHUB_REPOSITORY is set: GitHub also needs GITHUB_TOKEN"):
        Settings.load(env={"GITHUB_REPOSITORY": "acme/app"}, secrets_file=False)
