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
from miner.analysis.taxonomy import PhraseMatcher, Taxonomy, tokenize
from miner.analysis.ticket_text import TicketForAnalysis
from miner.vocabulary import Severity

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


# A customer who reports a second, unrelated problem in the same message says so ("Also, ...",
# "Separate issue:", "PS:"). Without such a turn, sentences that name different product areas are one
# problem described from several sides ("The scheduler takes forever to load. The week view is so slow...").
TOPIC_SHIFT = re.compile(
    r"^(?:also\b|and also\b|additionally\b|in addition\b|besides\b|on top of that\b|on another note\b|"
    r"another (?:thing|issue|problem|question|bug)\b|(?:a )?second (?:thing|issue|problem|question)\b|"
    r"separate(?:ly\b| issue\b| problem\b| question\b)|unrelated\b|not sure if (?:it'?s |this is )?related\b|"
    r"one more thing\b|(?:and )?while i have you\b|while i'?m at it\b|p\.?s\.?(?=[\s:,.-])|oh,? and\b|"
    r"secondly\b|(?:2|ii)[).:]\s)",
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
    topic: int = 0  # which problem of the message it belongs to (a new one after a topic shift)
    categories: dict[str, float] = field(default_factory=dict)  # "cat.sub" -> score
    terms: dict[str, int] = field(default_factory=dict)  # product-area keyword phrase -> occurrences
    types: dict[str, float] = field(default_factory=dict)
    severities: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, float] = field(default_factory=dict)

    @property
    def problem(self) -> float:
        return sum(self.types.values())

    @property
    def evidence(self) -> float:
        return max(self.categories.values(), default=0.0)


class OfflineAnalyzer:
    name = "offline"
    model = MODEL
    prompt_version = PROMPT_VERSION

    def __init__(self, taxonomy: Taxonomy, *, max_issues: int = 3) -> None:
        self.taxonomy = taxonomy
        self.max_issues = max_issues
        self.categories = taxonomy.area_keywords
        self.category_weight = {
            f"{c.key}.{s}": c.weight for c in taxonomy.categories.values() for s in c.subcategories
        }
        self.area_severity = {
            f"{c.key}.{s.key}": s.severity for c in taxonomy.categories.values() for s in c.subcategories.values()
        }
        self.types = PhraseMatcher([(k, ph) for k, cue in taxonomy.issue_types.items() for ph in cue.keywords])
        self.severities = PhraseMatcher([(k, ph) for k, cue in taxonomy.severities.items() for ph in cue.keywords])
        self.reasons = PhraseMatcher([(k, ph) for k, cue in taxonomy.non_issue.items() for ph in cue.keywords])

    # --- entry point --------------------------------------------------------------------------
    def analyze(self, ticket: TicketForAnalysis) -> TicketResult:
        redactor = Redactor()
        subject = redactor.redact(ticket.subject or "")
        bodies = [redactor.redact(t) for t in ticket.customer_messages()]
        sentences = [self._score(s, SUBJECT_WEIGHT, opening=True) for s in split_sentences(subject)]
        topic = 0
        for n, body in enumerate(bodies):
            parts = split_sentences(body)
            for i, part in enumerate(parts):
                # the opening of the first message says what the ticket is about; sign-offs do not
                opening = n == 0 and i < 3 and not (i == len(parts) - 1 and len(parts) > 1)
                if TOPIC_SHIFT.match(part):
                    topic += 1
                sentence = self._score(part, 1.0, opening=opening)
                sentence.topic = topic
                sentences.append(sentence)
        issues = self._issues(sentences)
        if issues:
            return TicketResult(ticket.id, issues=issues)
        return TicketResult(ticket.id, no_issue_reason=self._reason(sentences))

    # --- scoring ------------------------------------------------------------------------------
    def _score(self, text: str, weight: float, *, opening: bool) -> _Sentence:
        sentence = _Sentence(text, weight, opening=opening)
        tokens = tokenize(text)
        areas: dict[str, float] = defaultdict(float)
        for ph, targets in self.categories.matches(tokens):
            sentence.terms[ph.text] = sentence.terms.get(ph.text, 0) + 1
            for target in targets:
                areas[target] += ph.weight * self.category_weight.get(target, 1.0)
        sentence.categories = dict(areas)
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
        # One problem per topic of the message (the subject heads the first), named by the product area
        # its sentences point to together; topics about the same area are one problem.
        topics: dict[int, list[_Sentence]] = defaultdict(list)
        for s in sentences:
            if s.evidence:
                topics[s.topic].append(s)
        groups: dict[str, list[_Sentence]] = defaultdict(list)
        for members in topics.values():
            area: dict[str, float] = defaultdict(float)
            for m in members:
                for key, value in m.categories.items():
                    area[key] += value * m.weight * (1.0 + m.problem)
            best = max(sorted(area.items()), key=lambda kv: kv[1])[0]
            groups[best].extend(members)
        ranked: list[tuple[float, str, list[_Sentence]]] = []
        for key, members in groups.items():
            problem = sum(m.problem for m in members)
            strength = sum(max(m.categories.values()) * m.weight for m in members)
            ranked.append((strength * (1.0 + problem), key, members))
        ranked.sort(key=lambda r: (-r[0], r[1]))
        issues: list[ExtractedIssue] = []
        kept_topics: set[int] = set()
        for score, key, members in ranked[: self.max_issues]:
            own_problem = sum(m.problem for m in members)
            topics_here = {m.topic for m in members}
            announced = not topics_here & kept_topics  # the customer said it is another problem
            if issues and (own_problem == 0 or (not announced and score < 0.45 * ranked[0][0])):
                continue
            issues.append(self._issue(key, members, sentences, score))
            kept_topics |= topics_here
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
        severity = self._severity(members, issue_type, self.area_severity.get(key))
        summary = make_summary(key_sentence.text) or self.taxonomy.label(category, subcategory)
        detail_sentences = [m.text for m in members if m is not key_sentence][:2]
        detail = " ".join([key_sentence.text, *detail_sentences])[:400]
        return ExtractedIssue(
            areas=area_shares(members),
            terms=term_weights(members),
            category=category,
            subcategory=subcategory,
            issue_type=issue_type,
            severity=severity,
            summary=summary,
            detail=detail,
            representative_quote=clip_words(key_sentence.text, 240),
            confidence=round(min(0.95, 0.3 + 0.08 * score), 2),
        )

    def _severity(self, members: list[_Sentence], issue_type: str, usual: str | None) -> str:
        """From the product area's usual severity (taxonomy), moved by what the customer says about this
        problem: a critical cue ("payroll is wrong", "nobody can") makes it critical, a high cue ("can't
        work", "every day") lifts a medium one, a low cue ("cosmetic", "no rush") lowers it. Requests and
        documentation gaps start low. Calibrated on the demo's ground truth (bench/insight_quality.py)."""
        totals: dict[str, float] = defaultdict(float)
        for s in members:  # this problem's own sentences: another problem's urgency is not this one's
            for k, v in s.severities.items():
                totals[k] += v
        base = Severity.LOW if issue_type in ("feature_request", "documentation_gap") else Severity(usual or Severity.MEDIUM)
        if totals.get(Severity.CRITICAL, 0) >= 1.0:
            return Severity.CRITICAL
        if totals.get(Severity.LOW, 0) >= 1.0:
            return Severity.LOW
        if totals.get(Severity.HIGH, 0) >= 1.0 and base in (Severity.MEDIUM, Severity.LOW):
            return Severity.HIGH
        return base

    def _reason(self, sentences: list[_Sentence]) -> str:
        totals: dict[str, float] = defaultdict(float)
        for s in sentences:
            for k, v in s.reasons.items():
                totals[k] += v * s.weight
        if not totals:
            return "other"
        return max(sorted(totals.items()), key=lambda kv: kv[1])[0]


def area_shares(members: list[_Sentence], keep: int = 5) -> dict[str, float]:
    """The share of this problem's keyword evidence per product area (its `keep` strongest areas)."""
    evidence: dict[str, float] = defaultdict(float)
    for m in members:
        for key, value in m.categories.items():
            evidence[key] += value * m.weight * (1.0 + m.problem)
    top = sorted(evidence.items(), key=lambda kv: (-kv[1], kv[0]))[:keep]
    total = sum(v for _, v in top)
    return {k: round(v / total, 3) for k, v in top} if total > 0 else {}


def term_weights(members: list[_Sentence]) -> dict[str, float]:
    """The product-area keyword phrases of this problem's sentences, counted with the sentence's weight
    (the subject counts a little more)."""
    found: dict[str, float] = defaultdict(float)
    for m in members:
        for term, n in m.terms.items():
            found[term] += n * m.weight
    return {k: round(v, 3) for k, v in sorted(found.items())}


# --- text helpers -------------------------------------------------------------------------------


# The earlier mail a reply quotes below the customer's own words (Outlook's "-----Original Message-----" or
# its line of underscores, Gmail's "On <date>, <someone> wrote:"): none of it is this message's report. A
# forwarded message ("---------- Forwarded message ---------") is, so it is not cut.
REPLY_HISTORY = re.compile(r"^[ \t]*(?:-{3,}[ \t]*original message[ \t]*-{3,}|_{10,}|on [^\n]{3,200}? wrote:)[ \t]*$",
                           re.IGNORECASE | re.MULTILINE)


def split_sentences(text: str) -> list[str]:
    text = text or ""
    if (history := REPLY_HISTORY.search(text)) is not None:
        text = text[:history.start()]
    out = []
    for part in SENTENCE_END.split(text):
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
