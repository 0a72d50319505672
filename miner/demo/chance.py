"""The demo generator's randomness: one seeded `random.Random` shared by every part of the generator.

Every part draws from the same generator in a fixed order, so the same seed gives the same dataset:
reordering draws (even between parts) changes every ticket after the change.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from typing import Any, TypeVar

T = TypeVar("T")


class Chance:
    """Draws from a shared generator (faster than Random.choice/choices, which dominated the profile)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.random = rng.random

    def pick(self, options: Sequence[T]) -> T:
        """A uniformly random element of a non-empty sequence."""
        return options[int(self.random() * len(options))]

    def weighted(self, table: tuple[Sequence[T], list[float]]) -> T:
        """A random option from `(options, cumulative weights)`."""
        options, cum = table
        return options[bisect_right(cum, self.random() * cum[-1], 0, len(cum) - 1)]


def cumulative(weights: Sequence[float]) -> list[float]:
    out: list[float] = []
    total = 0.0
    for weight in weights:
        total += weight
        out.append(total)
    return out


def table(options: tuple[Any, ...], weights: tuple[float, ...]) -> tuple[tuple[Any, ...], list[float]]:
    """Options with cumulative weights, for `Chance.weighted`."""
    return options, cumulative(weights)
