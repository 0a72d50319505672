"""Cluster names and summaries.

Offline: readable key phrases from class-based TF-IDF over every cluster's issue summaries, and a
summary quoting the most typical report. With Claude: a specific, actionable name ("Android 14
clock-in button needs several taps", not "Mobile issues") and a 2-3 sentence summary.

A cluster is (re)named when it is new or has grown to RENAME_GROWTH times the size it had when it
was named; a pinned name (any human rename pins by default) is never touched.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine, Table, bindparam, insert, select, update

from miner import db
from miner.analysis.offline import sentence_case
from miner.clustering import algorithm
from miner.models import Cluster, Issue, LLMCall
from miner.progress import RunControl

log = logging.getLogger(__name__)

clusters_t: Table = Cluster.__table__  # type: ignore[assignment]
issues_t: Table = Issue.__table__  # type: ignore[assignment]
calls_t: Table = LLMCall.__table__  # type: ignore[assignment]

RENAME_GROWTH = 1.5
SAMPLE_PER_CLUSTER = 200
CLAUDE_SAMPLE = 25


class ClusterName(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="specific, actionable name of the problem, at most 80 characters")
    summary: str = Field(description="2-3 sentences: what goes wrong, for whom, and what customers say")


NAMING_PROMPT = """\
You name clusters of customer-reported product issues for a product team's dashboard.
You get the category and a sample of one-line issue summaries (and a few verbatim quotes) that an
algorithm grouped together. Reply with:
- name: the specific problem they share, as a product manager would put it on a roadmap, at most 80
  characters. Name the platform, feature or integration and the symptom, e.g. "Android 14 clock-in
  button needs several taps" or "Okta SSO sign-in loops back to the login page". Never a vague label
  like "Mobile issues" or "Login problems", never customer names.
- summary: 2-3 sentences: what goes wrong, under which conditions, and the impact customers describe.
If the sample mixes several problems, name the dominant one."""


class Namer:
    """Names clusters offline, or with Claude when a `claude` client is given."""

    def __init__(self, claude: Any = None, model: str | None = None, prices: Any = None,
                 run_id: int | None = None) -> None:
        self.claude = claude
        self.model = model
        self.prices = prices
        self.run_id = run_id

    def name_clusters(self, engine: Engine, control: RunControl) -> tuple[int, float]:
        """(Re)name clusters that need it; returns (how many, LLM cost in USD)."""
        with engine.connect() as conn:
            due = [r for r in conn.execute(
                select(clusters_t.c.id, clusters_t.c.size, clusters_t.c.named_size, clusters_t.c.category)
                .where(clusters_t.c.retired.is_(False), clusters_t.c.name_pinned.is_(False),
                       clusters_t.c.name_source != "human")
            ) if r.named_size == 0 or r.size >= r.named_size * RENAME_GROWTH]
        if not due:
            return 0, 0.0
        control.update(total=len(due), done=0, message=f"{len(due)} clusters to name")
        docs, members = self._documents(engine)
        offline = self._offline_names(docs, members)
        cost = 0.0
        now = datetime.now(UTC)
        updates = []
        for n, row in enumerate(due):
            control.check()
            name, summary = offline.get(row.id, (None, None))
            if self.claude is not None and row.id in members:
                named = self._claude_name(engine, row.id, row.category, members[row.id])
                if named is not None:
                    (name, summary), call_cost = named
                    cost += call_cost
            if name:
                updates.append({"cid": row.id, "name": name[:120], "summary": summary,
                                "source": "claude" if self.claude is not None else "offline",
                                "named_size": max(row.size, 1), "now": now})
            control.update(done=n + 1)
        if updates:
            with db.write_transaction(engine) as conn:
                conn.execute(
                    update(clusters_t).where(clusters_t.c.id == bindparam("cid"), clusters_t.c.name_pinned.is_(False))
                    .values(name=bindparam("name"), summary=bindparam("summary"), name_source=bindparam("source"),
                            named_size=bindparam("named_size"), updated_at=bindparam("now")),
                    updates)
        return len(updates), cost

    # --- offline ------------------------------------------------------------------------------
    def _documents(self, engine: Engine) -> tuple[dict[int, list[str]], dict[int, list[tuple[str, str]]]]:
        """Per cluster: summaries (most similar to the centre first) and (summary, quote) samples."""
        docs: dict[int, list[str]] = {}
        members: dict[int, list[tuple[str, str]]] = {}
        query = (select(issues_t.c.cluster_id, issues_t.c.summary, issues_t.c.representative_quote)
                 .where(issues_t.c.cluster_id.is_not(None))
                 .order_by(issues_t.c.cluster_id, issues_t.c.cluster_similarity.desc(), issues_t.c.id))
        with engine.connect() as conn:
            for row in conn.execute(query):
                bucket = docs.setdefault(row.cluster_id, [])
                if len(bucket) < SAMPLE_PER_CLUSTER:
                    bucket.append(row.summary)
                    members.setdefault(row.cluster_id, []).append((row.summary, row.representative_quote))
        return docs, members

    def _offline_names(self, docs: dict[int, list[str]],
                       members: dict[int, list[tuple[str, str]]]) -> dict[int, tuple[str, str]]:
        """Name: the most typical report (the member summary nearest the centre that reads like a
        title); summary: the cluster's key phrases from class-based TF-IDF."""
        if not docs:
            return {}
        ids = sorted(docs)
        texts = [t for cid in ids for t in docs[cid]]
        labels = np.array([cid for cid in ids for _ in docs[cid]])
        phrases = algorithm.top_phrases(texts, labels, top=4)
        out = {}
        for cid in ids:
            name = typical_title(docs[cid], phrases.get(cid) or []) or (phrases.get(cid) or [""])[0]
            name = sentence_case(name) if name else f"Cluster {cid}"
            keys = phrases.get(cid) or []
            summary = (f"Key phrases: {', '.join(keys)}." if keys else "")
            out[cid] = (name, summary)
        return out

    # --- Claude -------------------------------------------------------------------------------
    def _claude_name(self, engine: Engine, cluster_id: int, category: str | None,
                     sample: list[tuple[str, str]]) -> tuple[tuple[str, str], float] | None:
        import anthropic

        from miner.analysis.claude import usage_of
        from miner.analysis.redact import redact

        summaries = [s for s, _ in sample[:CLAUDE_SAMPLE]]
        quotes = [q for _, q in sample[:5] if q]
        content = (f"Category: {category or 'unknown'}\n\nIssue summaries:\n"
                   + "\n".join(f"- {redact(s)}" for s in summaries)
                   + "\n\nCustomer quotes:\n" + "\n".join(f'- "{redact(q)}"' for q in quotes))
        try:
            message = self.claude.messages.create(
                model=self.model, max_tokens=400, system=NAMING_PROMPT,
                messages=[{"role": "user", "content": content}],
                output_config={"format": {"type": "json_schema",
                                          "schema": anthropic.transform_schema(ClusterName)}},
            )
        except anthropic.APIError as exc:  # naming is best effort: keep the offline name
            log.warning("Claude could not name cluster %s: %s", cluster_id, exc)
            return None
        usage = usage_of(message)
        cost = self.prices.cost(self.model, usage) if self.prices else None
        outcome = "ok"
        named: tuple[str, str] | None = None
        if message.stop_reason in ("refusal", "max_tokens"):
            outcome = message.stop_reason
        else:
            try:
                text = "".join(getattr(b, "text", "") for b in message.content if getattr(b, "type", "") == "text")
                parsed = ClusterName.model_validate(json.loads(text))
                name = " ".join(parsed.name.split())
                if 3 <= len(name) <= 120:
                    named = (name, parsed.summary.strip()[:1000])
                else:
                    outcome = "invalid"
            except (ValueError, ValidationError):
                outcome = "invalid"
        with db.write_transaction(engine) as conn:
            conn.execute(insert(calls_t).values(
                run_id=self.run_id, ticket_id=None, purpose="name_cluster", model=self.model, via_batch=False,
                input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                cache_read_tokens=usage.cache_read_tokens, cache_write_tokens=usage.cache_write_tokens,
                cost_usd=cost, stop_reason=message.stop_reason, outcome=outcome, created_at=datetime.now(UTC)))
        return (named, cost or 0.0) if named else None


def typical_title(summaries: Sequence[str], key_phrases: Sequence[str] = (), candidates: int = 8) -> str:
    """Of the most central summaries (``summaries`` come nearest-first) that read like a title (short,
    not a mail subject), the one using most of the words of the cluster's key phrases; the most central
    on a tie. So the name and the key-phrase summary describe the same problem, and a vague central report
    ("Problem with the app") loses to a specific one ("The app crashes on clock in")."""
    keywords = {w for phrase in key_phrases for w in algorithm.phrase_words(phrase)} - algorithm.STOP_WORDS
    best, best_hits = "", -1
    seen: set[str] = set()
    for text in summaries:
        text = " ".join(text.split()).rstrip(".!?")
        if text.casefold() in seen:  # the same report many times is still one candidate
            continue
        seen.add(text.casefold())
        if len(seen) > candidates:
            break
        if not 15 <= len(text) <= 90 or text.lower().startswith(("re:", "fwd:", "fw:", "[")):
            continue
        hits = len(keywords & set(algorithm.phrase_words(text)))
        if hits > best_hits:
            best, best_hits = text, hits
    return best


def dominant_labels(engine: Engine) -> None:
    """Store each cluster's most common category, subcategory and issue type."""
    with engine.connect() as conn:
        rows = conn.execute(select(issues_t.c.cluster_id, issues_t.c.category, issues_t.c.subcategory,
                                   issues_t.c.issue_type).where(issues_t.c.cluster_id.is_not(None))).all()
    by_cluster: dict[int, Counter[tuple[str, str, str]]] = {}
    for r in rows:
        by_cluster.setdefault(r.cluster_id, Counter())[(r.category, r.subcategory, r.issue_type)] += 1
    updates = []
    for cid, counts in by_cluster.items():
        (cat, sub, _), _ = counts.most_common(1)[0]
        types: Counter[str] = Counter()
        for (_, _, t), n in counts.items():
            types[t] += n
        updates.append({"cid": cid, "cat": cat, "sub": sub, "type": types.most_common(1)[0][0]})
    if updates:
        with db.write_transaction(engine) as conn:
            conn.execute(update(clusters_t).where(clusters_t.c.id == bindparam("cid"))
                         .values(category=bindparam("cat"), subcategory=bindparam("sub"),
                                 issue_type=bindparam("type")), updates)
