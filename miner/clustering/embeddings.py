"""Sentence embedders for issue summaries.

The default is WordLlama (a 19 MB static token-embedding model whose weights ship inside the wheel), loaded
strictly offline. A user may use a sentence-transformers model instead with
``"sentence-transformers:/path/to/model"`` (a local folder) or ``"sentence-transformers:org/name"`` (a Hugging
Face id, downloaded once); that package is optional and imported only when asked for.
Every embedder returns float32 rows with unit L2 norm (an empty text gives a zero row).
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

DEFAULT_SPEC = "wordllama"
_ST_PREFIX = "sentence-transformers:"
_NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*")
_SPACE = re.compile(r"\s+")


@runtime_checkable
class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """Return a (len(texts), dim) float32 array of unit-length rows."""
        ...


def normalise_text(text: str) -> str:
    """Collapse numbers and whitespace: order numbers and amounts otherwise dominate a static embedding."""
    return _SPACE.sub(" ", _NUMBER.sub("0", text)).strip()


def unit_rows(X: np.ndarray) -> np.ndarray:
    """`X` as float32 rows of length 1 (zero rows stay zero)."""
    X = np.asarray(X, dtype=np.float32)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return np.asarray(np.divide(X, norms, out=np.zeros_like(X), where=norms > 0))


# Corpus-weighted embedding (``embed_weighted``): a word in a share p of the texts weighs a / (a + p), by
# default a = SIF_A. A smaller a weighs down every word that recurs (nearly inverse frequency), see
# ``miner.clustering.algorithm.RARE_WORDS_A``.
SIF_A = 0.1


@runtime_checkable
class CorpusWeightedEmbedder(Embedder, Protocol):
    def embed_weighted(self, texts: list[str], a: float = SIF_A) -> np.ndarray:
        """Embed `texts` with word weights a / (a + p) learnt from `texts` themselves (see WordLlamaEmbedder)."""
        ...


class WordLlamaEmbedder:
    """WordLlama l2_supercat, 256 dimensions: mean of static token vectors, fast and numpy-only."""

    def __init__(self, config: str = "l2_supercat", dim: int = 256) -> None:
        self.name = f"wordllama-{config}-{dim}"
        self.dim = dim
        self._model = _load_wordllama(config, dim)

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.embed([normalise_text(t) for t in texts], norm=False, batch_size=256)
        return unit_rows(vectors)

    def embed_weighted(self, texts: list[str], a: float = SIF_A) -> np.ndarray:
        """The texts' token vectors, weighted by how rare each token is among these texts (see
        ``smooth_inverse_frequency``)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        table = self._model.embedding
        tokens: list[np.ndarray] = []
        for start in range(0, len(texts), 256):
            for enc in self._model.tokenize([normalise_text(t) for t in texts[start:start + 256]]):
                ids = np.array([t for t, m in zip(enc.ids, enc.attention_mask, strict=True) if m], dtype=np.int64)
                tokens.append(np.clip(ids, 0, table.shape[0] - 1))
        return smooth_inverse_frequency(tokens, [table[ids] for ids in tokens], self.dim, a)


def smooth_inverse_frequency(tokens: list[np.ndarray], vectors: list[np.ndarray], dim: int,
                             a: float = SIF_A) -> np.ndarray:
    """Smooth inverse frequency (Arora, Liang & Ma, 2017): text i is the mean of its token vectors
    `vectors[i]` (one row per token id in `tokens[i]`), each weighted a / (a + p), p being the share of
    these texts that contain the token; then the component common to all texts is removed.

    A plain mean is dominated by what every text says: in raw call transcripts the greetings, apologies
    and "um, so, yeah" outweigh the one clause that carries the request. Weights from the corpus itself
    keep that clause."""
    size = 1 + max((int(ids.max()) for ids in tokens if len(ids)), default=0)
    share = np.zeros(size)
    for ids in tokens:
        share[np.unique(ids)] += 1
    weight = (a / (a + share / len(tokens))).astype(np.float32)
    X = np.zeros((len(tokens), dim), dtype=np.float32)
    for i, (ids, V) in enumerate(zip(tokens, vectors, strict=True)):
        if len(ids):
            X[i] = (weight[ids, None] * V).mean(axis=0)
    X = unit_rows(X)
    sample = X[np.random.default_rng(0).choice(len(X), min(len(X), 5000), replace=False)]
    common = np.linalg.svd(sample.astype(np.float64), full_matrices=False)[2][:1]
    return unit_rows(X - (X @ common.T) @ common)


class SentenceTransformerEmbedder:
    """A sentence-transformers model read from a local folder, or downloaded once by its Hugging Face id."""

    def __init__(self, path: str) -> None:
        self._model = _load_sentence_transformer(path)
        self.name = f"sentence-transformers:{Path(path).name}"
        # renamed get_embedding_dimension in sentence-transformers 6
        dimension = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dimension())

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode([normalise_text(t) for t in texts], batch_size=64,
                                     convert_to_numpy=True, show_progress_bar=False)
        return unit_rows(vectors)


@lru_cache(maxsize=4)
def _load_wordllama(config: str, dim: int) -> Any:
    # wordllama calls logging.basicConfig() when imported; keep the application's logging as it was.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        import wordllama
        from wordllama import WordLlama
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)

    # The weights live in wordllama/weights/; its tokenizer config lives in wordllama/tokenizers/, where
    # WordLlama only looks when that folder is passed as the cache dir. disable_download keeps it offline.
    package_dir = Path(wordllama.__file__).resolve().parent
    return WordLlama.load(config, cache_dir=package_dir, dim=dim, disable_download=True)


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def sentence_transformer_source(spec: str) -> str:
    """Where a sentence-transformers model is read from: an existing local folder, or else a Hugging Face
    model id ("sentence-transformers/all-MiniLM-L6-v2"), downloaded once into the Hugging Face cache.
    Raises ValueError for anything else."""
    folder = Path(spec).expanduser()
    if folder.is_dir():
        return str(folder)
    if _HUB_ID.match(spec) and not spec.startswith((".", "~")):
        return spec
    raise ValueError(f"model folder not found: {folder} (give a local folder, or a Hugging Face model id "
                     "such as sentence-transformers/all-MiniLM-L6-v2)")


@lru_cache(maxsize=4)
def _load_sentence_transformer(path: str) -> Any:
    path = sentence_transformer_source(path)
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise RuntimeError(
            "the 'sentence-transformers' package is not installed; install it (and torch) to use "
            f"{_ST_PREFIX}{path}, or use the default embedder"
        ) from exc
    return SentenceTransformer(path, device="cpu")


def get_embedder(spec: str | None = None) -> Embedder:
    """Return a (cached) embedder for ``spec``: None or "wordllama" for the default, or
    "sentence-transformers:/local/model/dir" for a user-supplied model."""
    return _embedder((spec or DEFAULT_SPEC).strip())


@lru_cache(maxsize=8)
def _embedder(spec: str) -> Embedder:
    if spec == DEFAULT_SPEC:
        return WordLlamaEmbedder()
    if spec.startswith(_ST_PREFIX) and spec[len(_ST_PREFIX):].strip():
        return SentenceTransformerEmbedder(spec[len(_ST_PREFIX):].strip())
    raise ValueError(
        f"unknown embedder spec {spec!r}: use 'wordllama' (the default), "
        f"'{_ST_PREFIX}/path/to/local/model' or '{_ST_PREFIX}org/model-id'"
    )
