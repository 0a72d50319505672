"""Settings: the configuration in effect (secrets masked), connection tests, taxonomy and prices."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from miner import health
from miner.analysis.pricing import load_prices
from miner.analysis.taxonomy import load_taxonomy
from miner.runs.runner import Busy
from pages.ui import fixes
from pages.ui.access import require_admin, signed_in_user
from pages.ui.alerts import alerts_section
from pages.ui.shared import app, code_span, refresh_data, show_text

miner = app()
user = signed_in_user(miner)
settings = miner.settings
st.title("Settings")
if not require_admin(user, "see the settings and run connection tests"):
    st.stop()
st.caption("Settings come from environment variables and `.streamlit/secrets.toml` (environment wins); "
           "change them there and restart. Secrets are never shown.")

a, b, c = st.columns(3)
with a.container(border=True):
    st.markdown("**Source**")
    if settings.effective_source == "demo":
        st.markdown("Built-in demo Zendesk (no credentials configured)")
    else:
        st.markdown(f"Zendesk at {code_span(settings.zendesk_public_url)}  \n"
                    f"{settings.zendesk_incremental_rpm} export requests/minute")
with b.container(border=True):
    st.markdown("**Analyzer**")
    if settings.effective_analyzer == "claude":
        budget = f"${settings.run_budget_usd:.2f} per run" if settings.run_budget_usd else "no per-run budget"
        st.markdown(f"Claude {code_span(settings.claude_model)}, concurrency {settings.analyze_concurrency}, {budget}")
    else:
        st.markdown("Offline analyzer (set ANTHROPIC_API_KEY to use Claude)")
with c.container(border=True):
    st.markdown("**Database**")
    show_text(settings.describe()[0]["value"])

st.markdown("#### Connection tests")
t1, t2, t3 = st.columns(3)
tests: dict[str, tuple[str, Callable[[], health.Health]]] = {"Test Zendesk": ("zendesk", lambda: health.check_zendesk(settings, miner.context.demo_url)),
         "Test Claude": ("claude", lambda: health.check_claude(settings)),
         "Test database": ("database", lambda: health.check_database(miner.engine))}
for col, (label, (key, check)) in zip((t1, t2, t3), tests.items(), strict=True):
    if col.button(label, width="stretch", key=f"test_{key}"):
        with st.spinner(f"{label}..."):
            st.session_state[f"test_result_{key}"] = check()
    result = st.session_state.get(f"test_result_{key}")
    if result is not None:
        (col.success if result.ok else col.error)(f"{code_span(result.message)} ({result.latency_ms:.0f} ms)")
fixes.tracker_tests(miner)

alerts_section(miner)

st.markdown("#### All settings")
st.dataframe(pd.DataFrame(settings.describe()), hide_index=True, width="stretch")

st.markdown("#### Taxonomy")
taxonomy = load_taxonomy(settings.taxonomy_path)
st.caption(f"{code_span(taxonomy.path)} · version {code_span(taxonomy.version)} · "
           f"{len(taxonomy.categories)} categories, {len(taxonomy.pairs)} subcategories")
rows = [{"category": cat.label, "key": f"{cat.key}.{sub.key}", "subcategory": sub.label,
         "keywords (offline analyzer)": ", ".join(p.text for p in sub.keywords)}
        for cat in taxonomy.categories.values() for sub in cat.subcategories.values()]
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=300)

with st.expander("Claude price table"):
    prices = load_prices(settings.prices_path)
    st.dataframe(pd.DataFrame([{"model": m, "input $/Mtok": p.input, "output $/Mtok": p.output,
                                "cache write": p.cache_write, "cache read": p.cache_read}
                               for m, p in prices.models.items()]), hide_index=True)
    st.caption(f"Message Batches are billed at {prices.batch_discount:.0%} of these prices. "
               "Point MINER_PRICES at your own TOML file to change them.")

if settings.effective_source == "demo" and user.is_admin:
    st.markdown("#### Demo data")
    st.caption("Start over with freshly generated demo tickets dated up to today. This deletes everything in the "
               "database (tickets, issues, clusters, notes and run history).")
    confirm = st.checkbox("I understand that this deletes all data")
    if st.button("Reset demo data", disabled=not confirm):
        try:
            miner.reset_demo()
            refresh_data()
            st.success("Demo data reset. Load it again from *Overview*.")
        except Busy as exc:
            st.warning(str(exc))
