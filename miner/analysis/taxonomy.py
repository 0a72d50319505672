"""The issue taxonomy: categories and subcategories every extracted issue is filed under.

Loaded from a TOML file (default: `taxonomy.toml` next to this module; MINER_TAXONOMY points to your
own). Keyword phrases are compiled once into word-boundary regexes for the offline analyzer; labels
and descriptions go into Claude's cached system prompt.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from miner.errors import MinerError

ISSUE_TYPES = ("bug", "friction", "ux_confusion", "feature_request", "documentation_gap", "data_issue")
SEVERITIES = ("critical", "high", "medium", "low")
KEY = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


class TaxonomyError(MinerError):
    pass


TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def tokenize(text: str) -> list[str]:
    """Lowercase word tokens ("can't" stays one token); the unit keyword phrases are matched on."""
    return TOKEN.findall(text.lower().replace("\u2019", "'"))


@dataclass(frozen=True)
class Phrase:
    text: str
    tokens: tuple[str, ...]
    stem: bool  # the last token matches any word it starts (keyword written with a trailing "*")
    weight: float  # longer phrases are stronger evidence than single words


@dataclass(frozen=True)
class Subcategory:
    key: str
    label: str
    keywords: tuple[Phrase, ...]


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    description: str
    subcategories: dict[str, Subcategory]
    weight: float = 1.0  # offline analyzer: specific product areas outrank catch-all ones


@dataclass(frozen=True)
class CueSet:
    key: str
    label: str
    keywords: tuple[Phrase, ...]


@dataclass(frozen=True)
class Taxonomy:
    version: str
    path: Path
    categories: dict[str, Category]
    issue_types: dict[str, CueSet]
    severities: dict[str, CueSet]
    non_issue: dict[str, CueSet]
    _pairs: tuple[str, ...] = field(default=(), repr=False)

    @property
    def pairs(self) -> tuple[str, ...]:
        """Every valid "category.subcategory" key."""
        return self._pairs

    def label(self, category: str, subcategory: str | None = None) -> str:
        cat = self.categories.get(category)
        if cat is None:
            return category
        if subcategory and subcategory in cat.subcategories:
            return f"{cat.label} / {cat.subcategories[subcategory].label}"
        return cat.label

    def is_valid(self, category: str, subcategory: str) -> bool:
        return category in self.categories and subcategory in self.categories[category].subcategories

    def prompt_block(self) -> str:
        """The taxonomy as Claude sees it (part of the cached system prompt)."""
        lines = ["CATEGORIES (use the exact key `category.subcategory`):"]
        for cat in self.categories.values():
            lines.append(f"- {cat.key}: {cat.label}. {cat.description}")
            for sub in cat.subcategories.values():
                examples = ", ".join(p.text for p in sub.keywords[:8])
                lines.append(f"    - {cat.key}.{sub.key}: {sub.label} (e.g. {examples})")
        lines.append("")
        lines.append("NO-ISSUE REASONS (for tickets without any product issue):")
        for cue in self.non_issue.values():
            lines.append(f"- {cue.key}: {cue.label}")
        return "\n".join(lines)


def phrase(text: str) -> Phrase:
    text = text.strip().lower()
    tokens = tuple(tokenize(text.rstrip("*")))
    if not tokens:
        raise TaxonomyError(f"keyword {text!r} has no words")
    words = len(tokens)
    return Phrase(text, tokens, text.endswith("*"), 1.0 + 0.6 * (words - 1) + (0.3 if len(text) > 8 else 0.0))


def _cues(section: dict[str, Any], name: str) -> dict[str, CueSet]:
    out: dict[str, CueSet] = {}
    for key, body in section.items():
        if not KEY.match(key) or not isinstance(body, dict):
            raise TaxonomyError(f"[{name}.{key}]: keys must be lowercase identifiers with a table")
        keywords = body.get("keywords", [])
        if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
            raise TaxonomyError(f"[{name}.{key}] keywords must be a list of strings")
        out[key] = CueSet(key, str(body.get("label", key)), tuple(phrase(k) for k in keywords))
    return out


@functools.lru_cache(maxsize=8)
def load_taxonomy(path: Path) -> Taxonomy:
    """Parse and validate a taxonomy file; errors name the file and the offending table."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TaxonomyError(f"MINER_TAXONOMY: file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise TaxonomyError(f"MINER_TAXONOMY {path}: not valid TOML ({exc})") from None
    try:
        categories: dict[str, Category] = {}
        for ckey, cbody in data.get("categories", {}).items():
            if not KEY.match(ckey):
                raise TaxonomyError(f"[categories.{ckey}]: keys must be lowercase identifiers")
            subs: dict[str, Subcategory] = {}
            for skey, sbody in cbody.get("subcategories", {}).items():
                if not KEY.match(skey):
                    raise TaxonomyError(f"[categories.{ckey}.subcategories.{skey}]: bad key")
                subs[skey] = Subcategory(
                    skey, str(sbody.get("label", skey)),
                    tuple(phrase(k) for k in sbody.get("keywords", [])),
                )
            if not subs:
                raise TaxonomyError(f"[categories.{ckey}] needs at least one subcategory")
            weight = cbody.get("weight", 1.0)
            if not isinstance(weight, int | float) or not 0.1 <= weight <= 10:
                raise TaxonomyError(f"[categories.{ckey}] weight must be a number between 0.1 and 10")
            categories[ckey] = Category(ckey, str(cbody.get("label", ckey)),
                                        str(cbody.get("description", "")), subs, float(weight))
        if not categories:
            raise TaxonomyError("the taxonomy defines no [categories.*]")
        issue_types = _cues(data.get("issue_types", {}), "issue_types")
        unknown = set(issue_types) - set(ISSUE_TYPES)
        if unknown:
            raise TaxonomyError(f"[issue_types]: unknown types {sorted(unknown)}; allowed: {ISSUE_TYPES}")
        severities = _cues(data.get("severities", {}), "severities")
        if set(severities) - set(SEVERITIES):
            raise TaxonomyError(f"[severities]: allowed keys are {SEVERITIES}")
        non_issue = _cues(data.get("non_issue", {}), "non_issue")
        if "other" not in non_issue:
            non_issue["other"] = CueSet("other", "Other", ())
    except TaxonomyError as exc:
        raise TaxonomyError(f"{path}: {exc}") from None
    pairs = tuple(f"{c.key}.{s}" for c in categories.values() for s in c.subcategories)
    return Taxonomy(str(data.get("version", "1")), Path(path), categories, issue_types, severities,
                    non_issue, pairs)
