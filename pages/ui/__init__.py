"""View helpers shared by the pages: the access gate, navigation, formatting, charts and widgets.

They live in this sub-package, not beside the page scripts, so that nothing but a real page is ever a
`.py` file directly inside `pages/` (Streamlit treats every such file as a page of its own).
"""
