"""The only module in `miner/` that imports Streamlit: it makes the process's MinerApp a
`st.cache_resource`, so the server's lifespan (which starts it before any browser connects) and
every page session share one app, one worker and one BackgroundScheduler; and it reads what the access
policy needs from Streamlit's own configuration.
"""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from miner.access import AccessPolicy
from miner.app import MinerApp, get_app
from miner.config import ConfigError, Settings


@st.cache_resource(show_spinner=False)
def runtime() -> MinerApp:
    """The started, process-wide app. Raises ConfigError (not cached) when settings are invalid."""
    return get_app().start()


def sso_configured() -> bool:
    """Streamlit's OIDC login is configured ([auth] in its secrets). No secrets file means no; a file
    Streamlit cannot read is a configuration error, not a quiet "no sign-in configured"."""
    try:
        return "auth" in st.secrets
    except StreamlitSecretNotFoundError as exc:
        if getattr(exc, "error_id", None) == "no-secrets-found":
            return False
        raise ConfigError(f"Streamlit's secrets: {exc}") from exc


def access_policy(settings: Settings) -> AccessPolicy:
    """Who may come in, from the settings, the [auth] secrets and the address the server listens on."""
    return AccessPolicy.from_settings(settings, sso=sso_configured(),
                                      bind_address=st.get_option("server.address"))
