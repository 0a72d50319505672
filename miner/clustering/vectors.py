"""What clustering compares: one vector per issue, from its text and the analyzer's evidence.

An issue's vector is the unit sum of three parts:
- the text embedding of its summary and the start of its detail (stored per issue, embedded once);
- its product area (AREA_WEIGHT): a fixed pseudo-random direction per `category.subcategory`, or the
  analyzer's weighted mix of areas when it gave one, so a report between two areas lies between them;
- the taxonomy's keyword phrases found in its text (TERM_WEIGHT), counted sublinearly and weighted by
  how rare each phrase is among all issues (IDF), each phrase a fixed pseudo-random direction.

Random directions in hundreds of dimensions are nearly orthogonal, so each part raises the similarity of
issues that share it and leaves other pairs alone. Different wordings of one problem ("can't punch in",
"clock-in rejected") share area and keyword phrases even where a small text embedding sees little in
common; the text still separates different problems of one area. Only the text embedding is stored: the
parts are composed at every run, so the weights and the IDF follow the data without re-embedding.

Chosen on the demo's ground truth (bench/insight_quality.py; average-linkage ARI with the true number
of issues, offline analyzer): text alone 0.24, + hard area 0.43, + area mix 0.64, + keyword phrases 0.82.
The keyword weight against the whole nightly pipeline (30 nights replayed; ARI / clusters per true issue
with 4,000, 6,000 and 9,000 tickets): 2.5 gives 0.63-0.82 / 1.65-2.11, 1.5 gives 0.76-0.84 / 1.17-1.57 (a
heavier weight splits one problem by wording: "charged twice" and "double charge" are different phrases).
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Engine, select

from miner import db
from miner.analysis.taxonomy import Taxonomy
from miner.clustering.embeddings import Embedder
from miner.models import embeddings_t, issues_t, tickets_t
from miner.progress import RunControl

EMBED_CHUNK = 2000
DETAIL_CHARS = 400  # 400 characters of detail beat 160 on the demo
AREA_WEIGHT = 1.0
TERM_WEIGHT = 1.5
# The version of the composition above: clusters record it with the embedder's name, and a change
# re-clusters everything once.
REPRESENTATION = "text+area+terms-2"


def stored_model(embedder: Embedder) -> str:
    """The key under which an issue's text embedding is stored."""
    return f"{embedder.name}#text"


def representation(embedder: Embedder) -> str:
    """What a cluster's centroid was computed in (stored as the cluster's `embedding_model`)."""
    return f"{embedder.name}#{REPRESENTATION}"


def issue_text(summary: str, detail: str | None) -> str:
    """What gets embedded: the normalised summary, with the start of the detail for context."""
    detail = (detail or "").strip()
    if not detail or detail.lower().startswith(summary.lower()[:40]):
        return summary
    return f"{summary}. {detail[:DETAIL_CHARS]}"


@functools.lru_cache(maxsize=8192)
def direction(key: str, dim: int) -> np.ndarray:
    """A fixed pseudo-random unit vector for `key` (a product area, "term:<phrase>")."""
    seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    v /= np.linalg.norm(v)
    v.flags.writeable = False  # cached and shared
    return v


def area_direction(area: str, shares: dict[str, float] | None, dim: int) -> np.ndarray:
    """The product-area part: the area's direction, or the analyzer's weighted mix of areas."""
    mix = np.zeros(dim, np.float32)
    for key, weight in (shares or {}).items():
        if weight > 0:
            mix += float(weight) * direction(key, dim)
    return unit(mix) if np.linalg.norm(mix) > 0 else direction(area, dim)


def term_direction(terms: dict[str, float], idf: dict[str, float], dim: int) -> np.ndarray | None:
    """The keyword part: each phrase's direction, weighted (1 + log count) * IDF; None without phrases."""
    mix = np.zeros(dim, np.float32)
    for term, count in terms.items():
        weight = idf.get(term, 0.0) * ((1.0 + math.log(count)) if count >= 1 else float(count))
        if weight > 0:
            mix += weight * direction(f"term:{term}", dim)
    return unit(mix) if np.linalg.norm(mix) > 0 else None


def unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def _blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


def embed_missing(engine: Engine, embedder: Embedder, control: RunControl) -> int:
    """Embed the text of issues without a stored embedding from this model; returns how many."""
    model = stored_model(embedder)
    query = (select(issues_t.c.id, issues_t.c.summary, issues_t.c.detail)
             .outerjoin(embeddings_t, embeddings_t.c.issue_id == issues_t.c.id)
             .where((embeddings_t.c.issue_id.is_(None)) | (embeddings_t.c.model != model))
             .order_by(issues_t.c.id))
    with engine.connect() as conn:
        todo = conn.execute(query).all()
    control.stage("Embedding issues", total=len(todo), message=embedder.name)
    for start in range(0, len(todo), EMBED_CHUNK):
        control.check()
        chunk = todo[start:start + EMBED_CHUNK]
        vectors = embedder.embed([issue_text(r.summary, r.detail) for r in chunk]).astype(np.float32)
        rows = [{"issue_id": r.id, "model": model, "vector": unit(v).tobytes()}
                for r, v in zip(chunk, vectors, strict=True)]
        with db.write_transaction(engine) as conn:
            db.upsert(conn, embeddings_t, rows, key=["issue_id"], update=["model", "vector"])
        control.update(done=start + len(chunk))
    return len(todo)


@dataclass
class IssueVectors:
    """The composed vector of every live issue (ticket not deleted) that has a text embedding."""

    ids: list[int]
    X: np.ndarray  # float32, unit rows, in `ids` order
    index: dict[int, int]

    def of(self, issue_ids: list[int]) -> np.ndarray:
        return self.X[[self.index[i] for i in issue_ids]] if issue_ids else np.zeros((0, self.dim), np.float32)

    @property
    def dim(self) -> int:
        return int(self.X.shape[1]) if self.X.ndim == 2 and len(self.X) else 0

    def __contains__(self, issue_id: object) -> bool:
        return issue_id in self.index

    @classmethod
    def load(cls, engine: Engine, embedder: Embedder, taxonomy: Taxonomy | None = None) -> IssueVectors:
        """Compose the vectors. Issues stored without keyword evidence (analysed before it was kept) get
        theirs from their text when a `taxonomy` is given."""
        query = (select(issues_t.c.id, issues_t.c.category, issues_t.c.subcategory, issues_t.c.summary,
                        issues_t.c.detail, issues_t.c.evidence, embeddings_t.c.vector)
                 .join(embeddings_t, embeddings_t.c.issue_id == issues_t.c.id)
                 .join(tickets_t, tickets_t.c.id == issues_t.c.ticket_id)
                 .where(tickets_t.c.status != "deleted", embeddings_t.c.model == stored_model(embedder))
                 .order_by(issues_t.c.id))
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return cls([], np.zeros((0, 0), np.float32), {})
        terms = [_terms(r, taxonomy) for r in rows]
        df: Counter[str] = Counter(t for bag in terms for t in bag)
        idf = {t: math.log(len(rows) / n) for t, n in df.items()}
        X = np.vstack([_blob(r.vector) for r in rows]).astype(np.float32)
        dim = X.shape[1]
        for i, r in enumerate(rows):
            evidence: dict[str, Any] = r.evidence or {}
            v = unit(X[i]) + AREA_WEIGHT * area_direction(f"{r.category}.{r.subcategory}", evidence.get("areas"), dim)
            keywords = term_direction(terms[i], idf, dim)
            if keywords is not None:
                v = v + TERM_WEIGHT * keywords
            X[i] = unit(v)
        ids = [r.id for r in rows]
        return cls(ids, X, {issue_id: i for i, issue_id in enumerate(ids)})


def _terms(row: Any, taxonomy: Taxonomy | None) -> dict[str, float]:
    stored = (row.evidence or {}).get("terms")
    if stored is not None:
        return {str(k): float(v) for k, v in stored.items()}
    if taxonomy is None:
        return {}
    return {k: float(v) for k, v in taxonomy.terms(f"{row.summary}. {row.detail or ''}").items()}
