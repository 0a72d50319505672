"""The pages' reads: each a `miner.queries` function with the app's engine supplied and its answer cached
(see `shared.cached`). Pages call these by name, so a read can be found, and checked, like any function."""

from __future__ import annotations

import miner.queries as q
from pages.ui.shared import cached

has_data = cached(q.has_data)
analysis_backlog = cached(q.analysis_backlog)
overview_figures = cached(q.overview_figures)
top_cluster_series = cached(q.top_cluster_series)
cluster_table = cached(q.cluster_table)
emerging_clusters = cached(q.emerging_clusters)
rising_clusters = cached(q.rising_clusters)
severity_mix = cached(q.severity_mix)
get_cluster = cached(q.get_cluster)
cluster_choices = cached(q.cluster_choices)
cluster_daily = cached(q.cluster_daily)
cluster_customers_cumulative = cached(q.cluster_customers_cumulative)
cluster_issues = cached(q.cluster_issues)
representative_quotes = cached(q.representative_quotes)
cluster_notes = cached(q.cluster_notes)
cluster_events = cached(q.cluster_events)
search_tickets = cached(q.search_tickets)
ticket_detail = cached(q.ticket_detail)
categories_in_use = cached(q.categories_in_use)
