"""The offline analyzer: the same job as Claude, with rules built from the taxonomy.

Deterministic and free. It reads what the customer wrote (subject, opening message, their public
follow-ups), splits it into sentences, and scores each sentence against the taxonomy's keyword
phrases (categories, issue-type cues, severity cues, no-issue reasons). Sentences with product
evidence are grouped by subcategory; the strongest groups become issues, each with a normalised
summary and a verbatim quote. Tickets without product evidence get the best-scoring no-issue reason.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from miner.analysis.redact import Redactor
from miner.analysis.schema import ExtractedIssue, TicketResult
from miner.analysis.taxonomy import Phrase, Taxonomy, tokenize
from miner.analysis.ticket_text import TicketForAnalysis

MODEL = "offline-rules"
PROMPT_VERSION = "offline-2026.11"

SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+|(?<=[a-z0-9)])\s*[;]\s+")
GREETING = re.compile(
    r"^(hi|hello|hey|dear|good (morning|afternoon|evening)|greetings|thanks|thank you|many thanks|"
    r"best|regards|kind regards|best regards|cheers|sincerely|sent from my|sorry|apologies|apologise|apologize)"
    r"\b[\w\s,!.'-]{0,60}$",
    re.IGNORECASE,
)
LEADING_FILLER = re.compile(
    r"^(?:(?:hi|hello|hey)(?: there| team| all)?[,!.]?\s*|so[, ]+|also[, ]+|and[, ]+|but[, ]+|"
    r"basically[, ]+|however[, ]+|anyway[, ]+|just (?:a )?(?:heads up|fyi)[:,-]?\s*|fyi[:,-]?\s*|"
    r"quick question[:,-]?\s*|(?:i|we) (?:just )?(?:wanted|want) to (?:let you know|report|flag) (?:that )?|"
    r"(?:i|we) (?:have )?noticed (?:that )?|(?:i|we) think (?:that )?|it seems (?:that |like )?|"
    r"(?:i'm|i am|we're|we are) (?:writing|reaching out) (?:to (?:report|let you know) )?(?:that |because )?)+",
    re.IGNORECASE,
)
SUBJECT_PRONOUN = re.compile(
    r"^(?:i|we|our (?:team|staff|employees|users|managers|company|admins?)|my (?:team|staff|employees|users|managers))\s+"
    r"(?:(?:still|also|now|sometimes|often|always|keep|really)\s+)?",
    re.IGNORECASE,
)


SUBJECT_WEIGHT = 1.3
# quoted mail, forwarding headers and app/widget footers say nothing about the problem
NOISE_PREFIXES = (">", "On ", "From:", "Sent:", "To:", "Date:", "Subject:", "[", "-- ", "--\t", "----",
                  "App version", "Device:", "OS:", "Browser:", "Page:")
MIN_PROBLEM = 1.0
QUESTION_START = re.compile(
    r"^(?:quick question[:,]?\s*)?(how (?:do|can|should)|is (?:there|it possible)|can (?:i|we|you|employees|staff|managers)|"
    r"could (?:i|we)|do you|does (?:the|it|your)|what(?:'s| is)|where (?:can|do) i|will (?:the|you|it))\b",
    re.IGNORECASE,
)


NOT_A_PROBLEM = re.compile(
    r"\b(?:no problems?|(?:is|are|works?|working|worked|seems?) (?:fine|ok|okay|perfectly)|"
    r"(?:doesn't|don't|does not|do not) have (?:this|the|that|any) (?:problem|issue))\b",
    re.IGNORECASE,
)


@dataclass
class _Sentence:
    text: str  # original (redacted) wording, used for quotes
    weight: float  # the subject counts a little more than body sentences
    opening: bool = False
    categories: dict[str, float] = field(default_factory=dict)  # "cat.sub" -> score
    types: dict[str, float] = field(default_factory=dict)
    severities: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, float] = field(default_factory=dict)

    @property
    def problem(self) -> float:
        return sum(self.types.values())

    @property
    def evidence(self) -> float:
        return max(self.categories.values(), default=0.0)


class _Matcher:
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
        out: dict[str, float] = defaultdict(float)
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
            for target in best[1]:
                out[target] += best[0].weight
            i += len(best[0].tokens)
        return out


def _match(ph: Phrase, tokens: list[str], i: int) -> bool:
    last = len(ph.tokens) - 1
    for j, want in enumerate(ph.tokens):
        got = tokens[i + j]
        if got != want and not (j == last and ph.stem and got.startswith(want)):
            return False
    return True


class OfflineAnalyzer:
    name = "offline"
    model = MODEL
    prompt_version = PROMPT_VERSION

    def __init__(self, taxonomy: Taxonomy, *, max_issues: int = 3) -> None:
        self.taxonomy = taxonomy
        self.max_issues = max_issues
        self.categories = _Matcher([
            (f"{c.key}.{s.key}", ph)
            for c in taxonomy.categories.values() for s in c.subcategories.values() for ph in s.keywords
        ])
        self.category_weight = {
            f"{c.key}.{s}": c.weight for c in taxonomy.categories.values() for s in c.subcategories
        }
        self.types = _Matcher([(k, ph) for k, cue in taxonomy.issue_types.items() for ph in cue.keywords])
        self.severities = _Matcher([(k, ph) for k, cue in taxonomy.severities.items() for ph in cue.keywords])
        self.reasons = _Matcher([(k, ph) for k, cue in taxonomy.non_issue.items() for ph in cue.keywords])

    # --- entry point --------------------------------------------------------------------------
    def analyze(self, ticket: TicketForAnalysis) -> TicketResult:
        redactor = Redactor()
        subject = redactor.redact(ticket.subject or "")
        bodies = [redactor.redact(t) for t in ticket.customer_messages()]
        sentences = [self._score(s, SUBJECT_WEIGHT, opening=True) for s in split_sentences(subject)]
        for n, body in enumerate(bodies):
            parts = split_sentences(body)
            for i, part in enumerate(parts):
                # the opening of the first message says what the ticket is about; sign-offs do not
                opening = n == 0 and i < 3 and not (i == len(parts) - 1 and len(parts) > 1)
                sentences.append(self._score(part, 1.0, opening=opening))
        issues = self._issues(sentences)
        if issues:
            return TicketResult(ticket.id, issues=issues)
        return TicketResult(ticket.id, no_issue_reason=self._reason(sentences))

    # --- scoring ------------------------------------------------------------------------------
    def _score(self, text: str, weight: float, *, opening: bool) -> _Sentence:
        sentence = _Sentence(text, weight, opening=opening)
        tokens = tokenize(text)
        sentence.categories = {k: v * self.category_weight.get(k, 1.0)
                               for k, v in self.categories.scores(tokens).items()}
        sentence.types = self.types.scores(tokens)
        if NOT_A_PROBLEM.search(text):  # "iPhone users are fine": a contrast, not a complaint
            sentence.types = {}
        question = text.rstrip().endswith("?") or bool(QUESTION_START.match(text))
        if question:  # "is there a report that shows late clock-ins?" asks; it does not report
            sentence.types = {k: v * 0.4 for k, v in sentence.types.items()}
        sentence.severities = self.severities.scores(tokens)
        sentence.reasons = self.reasons.scores(tokens)
        return sentence

    def _issues(self, sentences: list[_Sentence]) -> list[ExtractedIssue]:
        # problem evidence counts fully where the sentence also names a product area
        problem_total = sum(s.problem * s.weight * (1.0 if s.evidence else 0.4) for s in sentences)
        if problem_total < MIN_PROBLEM:
            return []  # mentions a feature but reports nothing wrong: a question or a thank-you
        # How-to and billing questions mention features too; they need problem evidence that beats
        # the question's own cues (read from the opening, not from sign-offs).
        reason_total = sum(sum(s.reasons.values()) * s.weight for s in sentences if s.opening)
        if reason_total >= 1.5 * problem_total:
            return []
        groups: dict[str, list[_Sentence]] = defaultdict(list)
        for s in sentences:
            if s.evidence == 0:
                continue
            best = max(s.categories.items(), key=lambda kv: kv[1])[0]
            groups[best].append(s)
        ranked: list[tuple[float, str, list[_Sentence]]] = []
        for key, members in groups.items():
            problem = sum(m.problem for m in members)
            strength = sum(m.categories.get(key, 0.0) * m.weight for m in members)
            ranked.append((strength * (1.0 + problem), key, members))
        ranked.sort(key=lambda r: (-r[0], r[1]))
        issues: list[ExtractedIssue] = []
        for score, key, members in ranked[: self.max_issues]:
            own_problem = sum(m.problem for m in members)
            if issues and (score < 0.45 * ranked[0][0] or own_problem == 0):
                continue
            issues.append(self._issue(key, members, sentences, score))
        if not issues and ranked:
            issues.append(self._issue(ranked[0][1], ranked[0][2], sentences, ranked[0][0]))
        return issues

    def _issue(self, key: str, members: list[_Sentence], everything: list[_Sentence], score: float) -> ExtractedIssue:
        category, subcategory = key.split(".", 1)
        key_sentence = max(members, key=lambda m: (m.categories.get(key, 0) + m.problem) * m.weight
                           + (0.5 if m.weight == 1.0 else 0.0))
        types: dict[str, float] = defaultdict(float)
        for m in members:
            for t, v in m.types.items():
                types[t] += v
        issue_type = max(types.items(), key=lambda kv: (kv[1], kv[0] == "bug"))[0] if types else "bug"
        severity = self._severity(everything, issue_type)
        summary = make_summary(key_sentence.text) or self.taxonomy.label(category, subcategory)
        detail_sentences = [m.text for m in members if m is not key_sentence][:2]
        detail = " ".join([key_sentence.text, *detail_sentences])[:400]
        return ExtractedIssue(
            category=category,
            subcategory=subcategory,
            issue_type=issue_type,
            severity=severity,
            summary=summary,
            detail=detail,
            representative_quote=clip_words(key_sentence.text, 240),
            confidence=round(min(0.95, 0.3 + 0.08 * score), 2),
        )

    def _severity(self, sentences: list[_Sentence], issue_type: str) -> str:
        totals: dict[str, float] = defaultdict(float)
        for s in sentences:
            for k, v in s.severities.items():
                totals[k] += v
        for level in ("critical", "high"):
            if totals.get(level, 0) >= 1.0:
                return level
        if totals.get("low", 0) >= 1.0 or issue_type in ("feature_request", "documentation_gap"):
            return "low"
        return "medium"

    def _reason(self, sentences: list[_Sentence]) -> str:
        totals: dict[str, float] = defaultdict(float)
        for s in sentences:
            for k, v in s.reasons.items():
                totals[k] += v * s.weight
        if not totals:
            return "other"
        return max(sorted(totals.items()), key=lambda kv: kv[1])[0]


# --- text helpers -------------------------------------------------------------------------------


def split_sentences(text: str) -> list[str]:
    out = []
    for part in SENTENCE_END.split(text or ""):
        part = part.strip(" \t-*>•")
        if len(part) < 4 or GREETING.match(part) or part.startswith(NOISE_PREFIXES):
            continue
        out.append(part)
    return out


def make_summary(sentence: str) -> str:
    """The problem, not the customer: drop greetings, fillers and the 'I/we' framing; one line."""
    text = re.sub(r"\s+", " ", sentence).strip()
    for _ in range(3):
        stripped = LEADING_FILLER.sub("", text).strip(" ,:-")
        stripped = SUBJECT_PRONOUN.sub("", stripped)
        if stripped == text:
            break
        text = stripped
    text = re.sub(r"\b(?:please|pls|plz)\b[,!]?\s*", "", text, flags=re.IGNORECASE).strip()
    text = text.rstrip(" .!?,;:")
    text = clip_words(text, 140)
    if len(text) < 8:
        return ""
    return sentence_case(text)


def sentence_case(text: str) -> str:
    """Capitalise the first letter unless the first word has its own casing ("iPhone", "eBay")."""
    first = text.split(" ", 1)[0]
    if first[:1].islower() and first[1:] == first[1:].lower():
        return text[0].upper() + text[1:]
    return text


def clip_words(text: str, limit: int) -> str:
    """A prefix of `text` no longer than `limit`, cut at a word boundary (still verbatim)."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return cut[:space] if space > limit * 0.5 else cut
