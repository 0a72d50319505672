"""What clustering compares: one vector per issue, from its text and the analyzer's evidence.

An issue's vector is the unit sum of three parts:
- the text embedding of its summary and the start of its detail (stored per issue, embedded once);
- its product area (AREA_WEIGHT): a fixed pseudo-random direction per `category.subcategory`, or the
  analyzer's weighted mix of areas when it gave one, so a report between two areas lies between them;
- the taxonomy's keyword phrases found in its text (TERM_WEIGHT), counted sublinearly and weighted by
  how rare each phrase is among all issues (IDF), each phrase a fixed pseudo-random direction leaning
  (ASSOCIATION_WEIGHT) towards the phrases it is found with in this corpus's issues.

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
Leaning each phrase towards its companions (`associated_directions`, learnt from the corpus: no synonym
list) joins such wordings where reports use them together or with the same other phrases: on the 6,000
tickets, ARI 0.82 -> 0.87 and clusters per true issue 1.38 -> 1.24 before merging. The incident search
keeps every phrase its own direction (`IssueVectors.literal`): there a new problem's own phrases are
what tells it from the old problems it resembles (with association it was found a night later).
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sqlalchemy import Engine, select

from miner import db
from miner.analysis.taxonomy import Taxonomy
from miner.clustering.embeddings import Embedder, unit_rows
from miner.models import embeddings_t, issues_t, tickets_t
from miner.progress import RunControl

EMBED_CHUNK = 2000
DETAIL_CHARS = 400  # 400 characters of detail beat 160 on the demo
AREA_WEIGHT = 1.0
TERM_WEIGHT = 1.5
ASSOCIATION_WEIGHT = 1.0  # how far a phrase leans towards the phrases reported with it
# The version of the composition above: clusters record it with the embedder's name, and a change
# re-clusters everything once.
REPRESENTATION = "text+area+terms-3"


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


def term_direction(terms: dict[str, float], idf: dict[str, float], dim: int,
                   directions: dict[str, np.ndarray] | None = None) -> np.ndarray | None:
    """The keyword part: each phrase's direction (from `directions` when given, else its own fixed one),
    weighted (1 + log count) * IDF; None without phrases."""
    mix = np.zeros(dim, np.float32)
    for term, count in terms.items():
        weight = idf.get(term, 0.0) * ((1.0 + math.log(count)) if count >= 1 else float(count))
        if weight > 0:
            own = directions.get(term) if directions is not None else None
            mix += weight * (own if own is not None else direction(f"term:{term}", dim))
    return unit(mix) if np.linalg.norm(mix) > 0 else None


def associated_directions(bags: list[dict[str, float]], idf: dict[str, float], dim: int,
                          weight: float = ASSOCIATION_WEIGHT) -> dict[str, np.ndarray]:
    """Each phrase's direction, leaning towards the phrases it is reported with on this corpus.

    A phrase's own direction plus `weight` times the mean direction of the phrases found in the same
    issues, each weighted by how often it comes with this one (P(s | t)) and how rare it is (IDF): common
    phrases come with everything and pull nowhere in particular. Two wordings of one problem ("charged
    twice", "double charge") are used by different people but appear together in some reports, and with
    the same other phrases; independent directions set them as far apart as two different problems."""
    vocabulary = sorted({t for bag in bags for t in bag})
    if not vocabulary or weight <= 0:
        return {}
    column = {t: k for k, t in enumerate(vocabulary)}
    rows = [r for r, bag in enumerate(bags) for _ in bag]
    cols = [column[t] for bag in bags for t in bag]
    B = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(bags), len(vocabulary)))
    together = (B.T @ B).tocsr()  # issues in which two phrases are found together
    counts = together.diagonal()
    together.setdiag(0)
    together.eliminate_zeros()
    rarity = np.array([max(idf.get(t, 0.0), 0.0) for t in vocabulary], np.float32)
    W = sp.diags(1.0 / np.maximum(counts, 1.0)) @ together @ sp.diags(rarity)  # P(s | t) * IDF(s)
    D = np.vstack([direction(f"term:{t}", dim) for t in vocabulary])
    pull = np.asarray(W @ D)
    total = np.asarray(W.sum(axis=1)).ravel()
    out = {}
    for k, term in enumerate(vocabulary):
        lean = pull[k] / total[k] if total[k] > 0 else 0.0
        out[term] = unit(D[k] + weight * lean).astype(np.float32)
    return out


def reach_of(own: np.ndarray, radius: float) -> float:
    """How close to a group's centre another issue must be to count as the same problem: as close as the
    group's own lower quartile, or a typical cluster's (`radius`) if that is looser."""
    return min(float(np.quantile(own, 0.25)), radius)


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
    # the same issues with each keyword phrase its own direction (see `literal`); None: X is that already
    literal_X: np.ndarray | None = None
    # their text embeddings alone, without area and phrases (see `text`); None: not known, X stands in
    text_X: np.ndarray | None = None

    def of(self, issue_ids: list[int]) -> np.ndarray:
        return self.X[[self.index[i] for i in issue_ids]] if issue_ids else np.zeros((0, self.dim), np.float32)

    @property
    def dim(self) -> int:
        return int(self.X.shape[1]) if self.X.ndim == 2 and len(self.X) else 0

    def __contains__(self, issue_id: object) -> bool:
        return issue_id in self.index

    def literal(self) -> IssueVectors:
        """The vectors with every keyword phrase its own direction, not leaning towards its companions:
        what the incident search compares. A new problem is told apart from the old ones it resembles by
        its own phrases ("crash" with "clock in"), which association would pull towards theirs."""
        return self if self.literal_X is None else IssueVectors(self.ids, self.literal_X, self.index,
                                                                text_X=self.text_X)

    def text(self) -> IssueVectors:
        """The text embeddings alone (unit rows), without the product area and keyword phrases: what tells
        whether two pieces of one incident say the same thing when the analyzer filed them under different
        areas or phrases (see `merging.incident_pieces`). Without them (vectors built by hand), the vectors."""
        return self if self.text_X is None else IssueVectors(self.ids, self.text_X, self.index)

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
        text = np.vstack([unit(_blob(r.vector)) for r in rows]).astype(np.float32)
        dim = text.shape[1]
        base = text + AREA_WEIGHT * np.vstack([area_direction(
            f"{r.category}.{r.subcategory}", (r.evidence or {}).get("areas"), dim) for r in rows])
        associated = associated_directions(terms, idf, dim)
        X, literal = _with_terms(base, terms, idf, associated), _with_terms(base, terms, idf, None)
        ids = [r.id for r in rows]
        return cls(ids, X, {issue_id: i for i, issue_id in enumerate(ids)}, literal if associated else None,
                   text_X=text)


def _with_terms(base: np.ndarray, terms: list[dict[str, float]], idf: dict[str, float],
                directions: dict[str, np.ndarray] | None) -> np.ndarray:
    """Unit rows of `base` plus TERM_WEIGHT times each issue's keyword part."""
    X = base.copy()
    for i, bag in enumerate(terms):
        keywords = term_direction(bag, idf, X.shape[1], directions)
        if keywords is not None:
            X[i] += TERM_WEIGHT * keywords
    return unit_rows(X)


def _terms(row: Any, taxonomy: Taxonomy | None) -> dict[str, float]:
    stored = (row.evidence or {}).get("terms")
    if stored is not None:
        return {str(k): float(v) for k, v in stored.items()}
    if taxonomy is None:
        return {}
    return {k: float(v) for k, v in taxonomy.terms(f"{row.summary}. {row.detail or ''}").items()}
