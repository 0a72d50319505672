"""Grouping extracted product issues into clusters.

`cluster_texts(texts) -> list[int]` is the public entry point (production algorithm and defaults on
raw texts). It is loaded on first use, so that importing a light submodule (human edits, naming)
does not pull in scikit-learn.
"""

from __future__ import annotations

from typing import Any

__all__ = ["cluster_texts"]


def __getattr__(name: str) -> Any:
    if name == "cluster_texts":
        from miner.clustering.algorithm import cluster_texts

        return cluster_texts
    raise AttributeError(f"module 'miner.clustering' has no attribute {name!r}")
