"""The access gate. Every page calls `signed_in_user()` before it reads anything, and the navigation
calls it first, so no URL - a deep link, a page opened before navigation ran, a reload - shows data to
someone who has not got in. The rules are `miner.access.AccessPolicy`; README "Access" explains them.
"""

from __future__ import annotations

import hmac
import math
from dataclasses import dataclass

import streamlit as st

from miner.access import Mode
from miner.app import MinerApp
from miner.runtime import access_policy
from pages.ui.shared import app


@dataclass(frozen=True)
class User:
    name: str
    email: str | None
    is_admin: bool
    mode: Mode


def _peer() -> str:
    # st.context.ip_address hides loopback peers as None; the policy wants an address.
    ip = st.context.ip_address
    if ip is None:
        return "127.0.0.1"
    return ip if isinstance(ip, str) else "unknown"


def _headers() -> dict[str, str]:
    return {name.lower(): value for name, value in st.context.headers.items()}


def _stop_with(title: str, body: str) -> None:
    st.title("Product Issue Miner")
    st.markdown(f"#### {title}")
    st.markdown(body)
    st.stop()


def signed_in_user(miner: MinerApp | None = None) -> User:
    """Who is looking; otherwise draw the sign-in (or why nobody can get in) and stop the script."""
    miner = miner or app()
    user = identify(miner)
    if user is None:
        ask_to_sign_in(miner)
    assert user is not None
    return user


def identify(miner: MinerApp) -> User | None:
    """Who is looking, if they have got in; draws nothing."""
    settings = miner.settings
    policy = access_policy(settings)
    mode = policy.mode
    if mode is Mode.SSO:
        if not st.user.is_logged_in:
            return None
        email = str(st.user.get("email") or "").lower() or None
        return User(str(st.user.get("name") or email or "user"), email,
                    bool(email and email in settings.admins), mode)
    if mode is Mode.PASSWORD:
        return User("team member", None, True, mode) if st.session_state.get("authenticated") else None
    if mode is Mode.LOCAL and policy.local_request_refusal(_peer(), _headers()) is None:
        return User("local user", None, True, mode)
    return None


def ask_to_sign_in(miner: MinerApp) -> None:
    """The sign-in for this server's mode, or why nobody can get in; always stops the script."""
    policy = access_policy(miner.settings)
    mode = policy.mode
    if mode is Mode.SSO:
        st.title("Product Issue Miner")
        st.info("Sign in to see your product issues.")
        st.button("Sign in", type="primary", on_click=st.login)
        st.stop()
    if mode is Mode.PASSWORD:
        _password_form(miner)
        st.stop()
    if mode is Mode.LOCAL:
        refusal = policy.local_request_refusal(_peer(), _headers())
        _stop_with(
            "This dashboard only answers browsers on the machine it runs on",
            f"No sign-in is configured, so nobody else may use it, and this request does not come straight "
            f"from that machine: {refusal}.\n\nTo share the dashboard, configure single sign-on (`[auth]`) or "
            "`MINER_DASHBOARD_PASSWORD` in `.streamlit/secrets.toml` and restart it (README *Access*).",
        )
    _stop_with(
        "Sign-in is not configured",
        f"{policy.closed_reason()}\n\nSet one of these in `.streamlit/secrets.toml` (or the environment) and "
        "restart the dashboard:\n\n"
        "* an `[auth]` section: single sign-on for your team;\n"
        "* `MINER_DASHBOARD_PASSWORD`: one shared password;\n"
        "* `MINER_LOCAL_ACCESS = true`: no sign-in, only from the machine the dashboard runs on (the server "
        "must listen on `127.0.0.1`, the default in `.streamlit/config.toml`).\n\n"
        "README *Access* explains each option.",
    )


def _password_form(miner: MinerApp) -> None:
    assert miner.settings.dashboard_password is not None
    throttle, key = miner.login_throttle, _peer()
    st.title("Product Issue Miner")
    with st.form("login"):
        password = st.text_input("Password", type="password")
        if st.form_submit_button("Sign in", type="primary"):
            wait = throttle.wait_seconds(key)
            if wait > 0:  # refused without even comparing: guessing stays slow
                st.error(f"Too many wrong passwords. Try again in {math.ceil(wait)} s.")
                return
            expected = miner.settings.dashboard_password.get_secret_value()
            if hmac.compare_digest(password.encode(), expected.encode()):
                throttle.succeeded(key)
                st.session_state["authenticated"] = True
                st.rerun()
            throttle.failed(key)
            st.error("Wrong password.")


def require_admin(user: User, what: str = "run operations") -> bool:
    if user.is_admin:
        return True
    st.info(f"Only admins can {what}. Ask an admin to add your e-mail to MINER_ADMINS.")
    return False
