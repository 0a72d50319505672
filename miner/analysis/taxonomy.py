"""The issue taxonomy: categories and subcategories every extracted issue is filed under.

Loaded from a TOML file (default: `taxonomy.toml` next to this module; MINER_TAXONOMY points to your
own). Keyword phrases are matched word by word (`PhraseMatcher`) by the offline analyzer and, as the
evidence of what an issue is about, for clustering; labels and descriptions go into Claude's cached
system prompt.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from miner.errors import MinerError
from miner.vocabulary import Severity

ISSUE_TYPES = ("bug", "friction", "ux_confusion", "feature_request", "documentation_gap", "data_issue")
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
    severity: str | None = None  # typical severity of a problem here when the ticket says nothing of its impact


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

    @functools.cached_property
    def area_keywords(self) -> PhraseMatcher:
        """Every product area's keyword phrases, to find them in a text."""
        return PhraseMatcher([(f"{c.key}.{s.key}", ph) for c in self.categories.values()
                              for s in c.subcategories.values() for ph in s.keywords])

    def terms(self, text: str) -> dict[str, int]:
        """How often each product-area keyword phrase occurs in `text`: the taxonomy's words for what a
        problem is about, which clustering weighs beside the text embedding."""
        found: dict[str, int] = defaultdict(int)
        for ph, _ in self.area_keywords.matches(tokenize(text)):
            found[ph.text] += 1
        return dict(found)

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


class PhraseMatcher:
    """All phrases of one kind, indexed by first word; a text is scanned once, word by word.

    At each position the longest matching phrase wins (so "clock in" beats "clock"), and matching
    resumes after it, like a regex alternation ordered longest-first, but in linear time.
    """

    def __init__(self, entries: list[tuple[str, Phrase]]) -> None:
        by_text: dict[str, tuple[Phrase, list[str]]] = {}
        for target, ph in entries:
            by_text.setdefault(ph.text, (ph, []))[1].append(target)
        self.exact: dict[str, list[tuple[Phrase, list[str]]]] = defaultdict(list)
        self.stems: dict[str, list[tuple[Phrase, list[str]]]] = defaultdict(list)
        for ph, targets in by_text.values():
            if len(ph.tokens) == 1 and ph.stem:
                self.stems[ph.tokens[0]].append((ph, targets))
            else:
                self.exact[ph.tokens[0]].append((ph, targets))
        for bucket in (*self.exact.values(), *self.stems.values()):
            bucket.sort(key=lambda item: -len(item[0].tokens))

    def scores(self, tokens: list[str]) -> dict[str, float]:
        """Summed phrase weights per target (product area, cue...)."""
        out: dict[str, float] = defaultdict(float)
        for ph, targets in self.matches(tokens):
            for target in targets:
                out[target] += ph.weight
        return out

    def matches(self, tokens: list[str]) -> Iterator[tuple[Phrase, list[str]]]:
        """Each phrase found, in order, with the targets it points at."""
        i, n = 0, len(tokens)
        while i < n:
            best: tuple[Phrase, list[str]] | None = None
            for ph, targets in self.exact.get(tokens[i], ()):
                k = len(ph.tokens)
                if i + k <= n and _match(ph, tokens, i):
                    best = (ph, targets)
                    break  # buckets are longest first
            if best is None:
                token = tokens[i]
                for cut in range(len(token), 2, -1):
                    bucket = self.stems.get(token[:cut])
                    if bucket:
                        best = bucket[0]
                        break
            if best is None:
                i += 1
                continue
            yield best
            i += len(best[0].tokens)


def _match(ph: Phrase, tokens: list[str], i: int) -> bool:
    last = len(ph.tokens) - 1
    for j, want in enumerate(ph.tokens):
        got = tokens[i + j]
        if got != want and not (j == last and ph.stem and got.startswith(want)):
            return False
    return True


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
                severity = sbody.get("severity")
                if severity is not None and severity not in Severity.values():
                    raise TaxonomyError(f"[categories.{ckey}.subcategories.{skey}] severity must be one of "
                                        f"{', '.join(Severity.values())}")
                subs[skey] = Subcategory(
                    skey, str(sbody.get("label", skey)),
                    tuple(phrase(k) for k in sbody.get("keywords", [])), severity,
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
        if set(severities) - set(Severity.values()):
            raise TaxonomyError(f"[severities]: allowed keys are {Severity.values()}")
        non_issue = _cues(data.get("non_issue", {}), "non_issue")
        if "other" not in non_issue:
            non_issue["other"] = CueSet("other", "Other", ())
    except TaxonomyError as exc:
        raise TaxonomyError(f"{path}: {exc}") from None
    pairs = tuple(f"{c.key}.{s}" for c in categories.values() for s in c.subcategories)
    return Taxonomy(str(data.get("version", "1")), Path(path), categories, issue_types, severities,
                    non_issue, pairs)
