"""What a new tracker issue says about a cluster: its figures, up to three quotes and ticket links.

`load_brief` reads it from the database; `ClusterBrief` is plain data, so the Jira (ADF) and GitHub
(Markdown) renderings are pure functions of it. Deleted tickets and their issues are left out: their
content must not travel to another system.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, desc, func, select

from miner.errors import MinerError
from miner.models import clusters_t, issues_t, tickets_t

MAX_QUOTES = 3
MAX_TICKET_LINKS = 10
MAX_QUOTE_CHARS = 500


class NoSuchCluster(MinerError):
    pass


@dataclass(frozen=True)
class Quote:
    text: str
    ticket_id: int
    ticket_url: str | None


@dataclass(frozen=True)
class ClusterBrief:
    cluster_id: int
    name: str
    summary: str | None
    tickets: int  # all time
    customers: int  # all time
    last_7_days: int
    previous_7_days: int
    first_seen: datetime | None
    last_seen: datetime | None
    quotes: tuple[Quote, ...] = ()
    ticket_links: tuple[tuple[int, str | None], ...] = ()  # (ticket id, link), most recent first
    cluster_url: str | None = None  # the cluster's page in the dashboard

    def title(self, limit: int = 255) -> str:
        return one_line(self.name, limit) or f"Product issue cluster {self.cluster_id}"

    def figures(self) -> list[str]:
        """The figures as short sentences (our numbers and dates only: no ticket text)."""
        lines = [f"{_n(self.tickets, 'ticket')} from {_n(self.customers, 'customer')} in all"
                 + (f", first reported on {_day(self.first_seen)}" if self.first_seen else "")
                 + (f", last on {_day(self.last_seen)}" if self.last_seen else "") + "."]
        lines.append(f"{_n(self.last_7_days, 'ticket')} in the last 7 days "
                     f"({self.previous_7_days} in the 7 days before).")
        return lines


def load_brief(engine: Engine, cluster_id: int, *, ticket_url: Callable[[int], str | None],
               cluster_url: str | None = None, quotes: int = MAX_QUOTES,
               tickets: int = MAX_TICKET_LINKS) -> ClusterBrief:
    """The cluster's brief; NoSuchCluster if there is no such cluster."""
    with engine.connect() as conn:
        row = conn.execute(select(clusters_t).where(clusters_t.c.id == cluster_id)).first()
        if row is None:
            raise NoSuchCluster(f"There is no cluster {cluster_id}.")
        live = tickets_t.c.deleted_at.is_(None)
        candidates = conn.execute(
            select(issues_t.c.representative_quote, issues_t.c.ticket_id, issues_t.c.organization_id,
                   issues_t.c.requester_id)
            .join(tickets_t, tickets_t.c.id == issues_t.c.ticket_id)
            .where(issues_t.c.cluster_id == cluster_id, live)
            .order_by(desc(func.coalesce(issues_t.c.cluster_similarity, 0)), desc(issues_t.c.confidence),
                      issues_t.c.id)
            .limit(quotes * 100)).all()
        recent = conn.execute(
            select(issues_t.c.ticket_id, func.max(issues_t.c.ticket_created_at).label("at"))
            .join(tickets_t, tickets_t.c.id == issues_t.c.ticket_id)
            .where(issues_t.c.cluster_id == cluster_id, live)
            .group_by(issues_t.c.ticket_id)
            .order_by(desc("at"), desc(issues_t.c.ticket_id))
            .limit(tickets)).all()
    chosen: list[Quote] = []
    customers: set[int] = set()
    folded: list[str] = []
    for quote, ticket_id, org, requester in candidates:
        text = str(quote or "").strip()
        key = " ".join(text.casefold().split()).strip(" .!?")
        customer = org if org is not None else -(requester or 0)
        # one quote per customer, and never the same complaint twice
        if not key or customer in customers or any(key in other or other in key for other in folded):
            continue
        customers.add(customer)
        folded.append(key)
        chosen.append(Quote(_clip(text, MAX_QUOTE_CHARS), int(ticket_id), ticket_url(int(ticket_id))))
        if len(chosen) == quotes:
            break
    return ClusterBrief(
        cluster_id=cluster_id, name=row.name, summary=row.summary, tickets=row.ticket_count or 0,
        customers=row.customer_count or 0, last_7_days=row.count_7d or 0, previous_7_days=row.count_prev_7d or 0,
        first_seen=row.first_seen, last_seen=row.last_seen, quotes=tuple(chosen),
        ticket_links=tuple((int(r.ticket_id), ticket_url(int(r.ticket_id))) for r in recent),
        cluster_url=cluster_url)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _day(value: datetime) -> str:
    return f"{value:%b} {value.day}, {value.year}"


def one_line(text: str, limit: int) -> str:
    """Text as one line of at most `limit` characters (titles, summaries)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1].rstrip() + "…"
