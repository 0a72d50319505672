"""The one output schema both analyzers produce, and its validation.

`TicketResult` is what gets stored: 0..N `ExtractedIssue`s, or a `no_issue_reason`. For Claude the
same shape is built as a pydantic model whose enums come from the taxonomy (`claude_output_model`),
so structured output can only name categories that exist; every answer is validated again here.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from miner.analysis.taxonomy import ISSUE_TYPES, Taxonomy
from miner.vocabulary import Severity

SCHEMA_VERSION = 1
MAX_ISSUES_PER_TICKET = 5


@dataclass(frozen=True)
class ExtractedIssue:
    category: str
    subcategory: str
    issue_type: str
    severity: str
    summary: str
    detail: str
    representative_quote: str
    confidence: float
    # Evidence for clustering, beside the text. `areas`: how strongly the text points at each product
    # area ("category.subcategory" -> share, summing to 1) when the analyzer can say (offline keyword
    # evidence), so a report between two areas is near both instead of flipping on a near-tie.
    # `terms`: the taxonomy's keyword phrases in the problem's text, with their weight.
    areas: dict[str, float] = field(default_factory=dict, compare=False, hash=False)
    terms: dict[str, float] = field(default_factory=dict, compare=False, hash=False)

    @property
    def evidence(self) -> dict[str, dict[str, float]] | None:
        """What is stored with the issue for clustering (None when there is nothing)."""
        found = {k: v for k, v in (("areas", self.areas), ("terms", self.terms)) if v}
        return found or None

    @property
    def area(self) -> str:
        return f"{self.category}.{self.subcategory}"


def dedupe_issues(issues: list[ExtractedIssue]) -> list[ExtractedIssue]:
    """One problem, one issue: drop issues of a ticket that repeat an earlier one.

    A repeat names the same product area and issue type, or quotes the same words. The issue kept is
    the more confident one, with the more severe severity of the two (the customer said it once).
    """
    kept: list[ExtractedIssue] = []
    for issue in issues:
        twin = next((k for k in kept if (k.area, k.issue_type) == (issue.area, issue.issue_type)
                     or _fold(k.representative_quote) == _fold(issue.representative_quote)), None)
        if twin is None:
            kept.append(issue)
            continue
        better = issue if issue.confidence > twin.confidence else twin
        severity = Severity.most_severe(twin.severity, issue.severity).value
        kept[kept.index(twin)] = dataclasses.replace(better, severity=severity)
    return kept


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float | None = 0.0

    def add(self, other: Usage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_write_tokens += other.cache_write_tokens
        if self.cost_usd is None or other.cost_usd is None:
            self.cost_usd = None
        else:
            self.cost_usd += other.cost_usd


@dataclass
class TicketResult:
    """The outcome for one ticket: issues (possibly none, then a reason) or a failure."""

    ticket_id: int
    issues: list[ExtractedIssue] = field(default_factory=list)
    no_issue_reason: str | None = None
    error: str | None = None  # set when the attempt failed; nothing is stored for the ticket
    outcome: str = "ok"  # ok | refusal | max_tokens | invalid | error
    usage: Usage = field(default_factory=Usage)
    stop_reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class InvalidOutput(ValueError):
    """The analyzer's answer does not satisfy the schema (named field and reason)."""


def normalise_space(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _fold(text: str) -> str:
    text = text.casefold().replace("\u2019", "'").replace("\u2018", "'")
    text = text.replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"[\s\"']+", " ", text).strip(" .,;:!?")


def validate_output(data: dict[str, Any], taxonomy: Taxonomy, ticket_text: str) -> tuple[list[ExtractedIssue], str | None]:
    """Check an analyzer answer against the schema, the taxonomy and the ticket; raise InvalidOutput."""
    issues_raw = data.get("issues")
    if not isinstance(issues_raw, list):
        raise InvalidOutput("issues: must be a list")
    if len(issues_raw) > MAX_ISSUES_PER_TICKET:
        raise InvalidOutput(f"issues: at most {MAX_ISSUES_PER_TICKET} per ticket, got {len(issues_raw)}")
    reason = data.get("no_issue_reason")
    folded_ticket = _fold(ticket_text)
    issues: list[ExtractedIssue] = []
    for i, raw in enumerate(issues_raw):
        where = f"issues[{i}]"
        if not isinstance(raw, dict):
            raise InvalidOutput(f"{where}: must be an object")
        key = str(raw.get("category", ""))
        category, _, subcategory = key.partition(".")
        if not subcategory:
            subcategory = str(raw.get("subcategory", ""))
        if not taxonomy.is_valid(category, subcategory):
            raise InvalidOutput(f"{where}.category: {key!r} is not in the taxonomy")
        issue_type, severity = raw.get("issue_type"), raw.get("severity")
        if issue_type not in ISSUE_TYPES:
            raise InvalidOutput(f"{where}.issue_type: {issue_type!r} not one of {ISSUE_TYPES}")
        if severity not in Severity.values():
            raise InvalidOutput(f"{where}.severity: {severity!r} not one of {Severity.values()}")
        summary = normalise_space(str(raw.get("summary", "")))
        if not 8 <= len(summary) <= 200:
            raise InvalidOutput(f"{where}.summary: must be one line of 8-200 characters")
        quote = normalise_space(str(raw.get("representative_quote", "")))
        if not quote or _fold(quote) not in folded_ticket:
            raise InvalidOutput(f"{where}.representative_quote: not a verbatim quote from the ticket")
        confidence = raw.get("confidence")
        if not isinstance(confidence, int | float) or isinstance(confidence, bool) or not 0 <= confidence <= 1:
            raise InvalidOutput(f"{where}.confidence: must be a number between 0 and 1")
        detail = normalise_space(str(raw.get("detail", "")))[:2000]
        issues.append(ExtractedIssue(
            category=category, subcategory=subcategory, issue_type=str(issue_type),
            severity=str(severity), summary=summary, detail=detail,
            representative_quote=quote[:500], confidence=float(confidence),
            terms={k: float(v) for k, v in taxonomy.terms(f"{summary}. {detail}. {quote}").items()},
        ))
    if issues:
        return issues, None
    if reason not in taxonomy.non_issue:
        raise InvalidOutput(
            f"no_issue_reason: a ticket without issues needs one of {sorted(taxonomy.non_issue)}, got {reason!r}"
        )
    return [], str(reason)


def claude_output_model(taxonomy: Taxonomy) -> type[BaseModel]:
    """The structured-output model for Claude, with enums taken from the taxonomy."""
    return _output_model(taxonomy.pairs, tuple(taxonomy.non_issue))


@functools.lru_cache(maxsize=8)
def _output_model(pair_keys: tuple[str, ...], reason_keys: tuple[str, ...]) -> type[BaseModel]:
    pairs = Literal[pair_keys]  # type: ignore[valid-type]
    reasons = Literal[reason_keys]  # type: ignore[valid-type]
    issue = create_model(
        "ProductIssue",
        __config__=ConfigDict(extra="forbid"),
        category=(pairs, Field(description="category.subcategory key from the taxonomy")),
        issue_type=(Literal[ISSUE_TYPES], ...),  # type: ignore[arg-type]
        severity=(Literal[Severity.values()], ...),  # type: ignore[arg-type]
        summary=(str, Field(description="one line naming the product problem, not the customer")),
        detail=(str, Field(description="one or two sentences of specifics: where, when, devices, versions")),
        representative_quote=(str, Field(description="a short verbatim quote from the ticket")),
        confidence=(float, Field(description="0 to 1: how sure you are this is a real product issue")),
    )
    return create_model(
        "TicketAnalysis",
        __config__=ConfigDict(extra="forbid"),
        issues=(list[issue], Field(description="0 to 5 distinct product issues")),  # type: ignore[valid-type]
        no_issue_reason=(reasons | None, Field(description="why there is no product issue; null when there are issues")),
    )
