"""Cost of Claude calls from a price table (USD per million tokens), configurable via MINER_PRICES."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from miner.analysis.schema import Usage
from miner.errors import MinerError

DEFAULT_PRICES = Path(__file__).resolve().parent / "prices.toml"


class PriceTableError(MinerError):
    pass


@dataclass(frozen=True)
class ModelPrice:
    input: float
    output: float
    cache_write: float
    cache_read: float


@dataclass(frozen=True)
class PriceTable:
    models: dict[str, ModelPrice]
    batch_discount: float

    def price(self, model: str) -> ModelPrice | None:
        if model in self.models:
            return self.models[model]
        # dated snapshots ("claude-haiku-4-5-20251001") cost what their alias costs
        for name, price in self.models.items():
            if model.startswith(name + "-"):
                return price
        return None

    def cost(self, model: str, usage: Usage, *, batch: bool = False) -> float | None:
        """USD for one call, or None when the model is not in the table."""
        p = self.price(model)
        if p is None:
            return None
        total = (usage.input_tokens * p.input + usage.output_tokens * p.output
                 + usage.cache_write_tokens * p.cache_write + usage.cache_read_tokens * p.cache_read)
        return total / 1_000_000 * (self.batch_discount if batch else 1.0)


@functools.lru_cache(maxsize=4)
def load_prices(path: Path | None = None) -> PriceTable:
    path = path or DEFAULT_PRICES
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        models = {
            name: ModelPrice(float(v["input"]), float(v["output"]), float(v["cache_write"]),
                             float(v["cache_read"]))
            for name, v in data.get("models", {}).items()
        }
        discount = float(data.get("batch_discount", 0.5))
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise PriceTableError(f"MINER_PRICES {path}: {exc}") from None
    if not 0 < discount <= 1:
        raise PriceTableError(f"MINER_PRICES {path}: batch_discount must be in (0, 1]")
    return PriceTable(models, discount)
