"""Cluster names and summaries.

Offline: readable key phrases from class-based TF-IDF over every cluster's issue summaries, and a
summary quoting the most typical report. With Claude: a specific, actionable name ("Android 14
clock-in button needs several taps", not "Mobile issues") and a 2-3 sentence summary.

A cluster is (re)named when it is new or has grown to RENAME_GROWTH times the size it had when it
was named; a pinned name (any human rename pins by default) is never touched.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine, bindparam, func, insert, select, update

from miner import db
from miner.analysis.offline import sentence_case
from miner.clustering import algorithm
from miner.models import calls_t, clusters_t, issues_t, tickets_t
from miner.progress import RunControl

log = logging.getLogger(__name__)


RENAME_GROWTH = 1.5
SAMPLE_PER_CLUSTER = 200
CLAUDE_SAMPLE = 25


class ClusterName(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="specific, actionable name of the problem, at most 80 characters")
    summary: str = Field(description="2-3 sentences: what goes wrong, for whom, and what customers say")


NAMING_PROMPT = """\
You name clusters of customer-reported product issues for a product team's dashboard.
You get the category and a sample of one-line issue summaries (and a few verbatim quotes) that an
algorithm grouped together. Reply with:
- name: the specific problem they share, as a product manager would put it on a roadmap, at most 80
  characters. Name the platform, feature or integration and the symptom, e.g. "Android 14 clock-in
  button needs several taps" or "Okta SSO sign-in loops back to the login page". Never a vague label
  like "Mobile issues" or "Login problems", never customer names.
- summary: 2-3 sentences: what goes wrong, under which conditions, and the impact customers describe.
If the sample mixes several problems, name the dominant one."""


class SameProblem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    same_problem: bool = Field(description="true if both groups report the same underlying product problem")
    reason: str = Field(description="one sentence: why")


MERGE_SAMPLE = 6
MERGE_PROMPT = """\
You help a product team keep one entry per product problem. You get two groups of one-line issue summaries
from customer support tickets. Answer same_problem: true only if both groups report the same underlying
problem (same feature and same symptom, e.g. two wordings of "the Android app is blocked at clock-in by the
location check"); false if they differ in feature, platform or symptom, even when related. Give a one-sentence
reason."""


class Namer:
    """Names clusters offline, or with Claude when a `claude` client is given."""

    def __init__(self, claude: Any = None, model: str | None = None, prices: Any = None,
                 run_id: int | None = None) -> None:
        self.claude = claude
        self.model = model
        self.prices = prices
        self.run_id = run_id

    def name_clusters(self, engine: Engine, control: RunControl) -> tuple[int, float]:
        """(Re)name clusters that need it; returns (how many, LLM cost in USD)."""
        with engine.connect() as conn:
            due = [r for r in conn.execute(
                select(clusters_t.c.id, clusters_t.c.size, clusters_t.c.named_size, clusters_t.c.category)
                .where(clusters_t.c.retired.is_(False), clusters_t.c.name_pinned.is_(False),
                       clusters_t.c.name_source != "human")
            ) if r.named_size == 0 or r.size >= r.named_size * RENAME_GROWTH]
        if not due:
            return 0, 0.0
        control.update(total=len(due), done=0, message=f"{len(due)} clusters to name")
        docs, members = self._documents(engine)
        offline = self._offline_names(docs, self._subjects(engine))
        cost = 0.0
        now = datetime.now(UTC)
        updates = []
        for n, row in enumerate(due):
            control.check()
            name, summary = offline.get(row.id, (None, None))
            if self.claude is not None and row.id in members:
                named = self._claude_name(engine, row.id, row.category, members[row.id])
                if named is not None:
                    (name, summary), call_cost = named
                    cost += call_cost
            if name:
                updates.append({"cid": row.id, "name": name[:120], "summary": summary,
                                "source": "claude" if self.claude is not None else "offline",
                                "named_size": max(row.size, 1), "now": now})
            control.update(done=n + 1)
        if updates:
            with db.write_transaction(engine) as conn:
                conn.execute(
                    update(clusters_t).where(clusters_t.c.id == bindparam("cid"), clusters_t.c.name_pinned.is_(False))
                    .values(name=bindparam("name"), summary=bindparam("summary"), name_source=bindparam("source"),
                            named_size=bindparam("named_size"), updated_at=bindparam("now")),
                    updates)
        return len(updates), cost

    # --- offline ------------------------------------------------------------------------------
    def _documents(self, engine: Engine) -> tuple[dict[int, list[str]], dict[int, list[tuple[str, str]]]]:
        """Per cluster: summaries (most similar to the centre first) and (summary, quote) samples."""
        docs: dict[int, list[str]] = {}
        members: dict[int, list[tuple[str, str]]] = {}
        query = (select(issues_t.c.cluster_id, issues_t.c.summary, issues_t.c.representative_quote)
                 .where(issues_t.c.cluster_id.is_not(None))
                 .order_by(issues_t.c.cluster_id, issues_t.c.cluster_similarity.desc(), issues_t.c.id))
        with engine.connect() as conn:
            for row in conn.execute(query):
                bucket = docs.setdefault(row.cluster_id, [])
                if len(bucket) < SAMPLE_PER_CLUSTER:
                    bucket.append(row.summary)
                    members.setdefault(row.cluster_id, []).append((row.summary, row.representative_quote))
        return docs, members

    def _subjects(self, engine: Engine) -> dict[int, list[str]]:
        """Per cluster: subject lines of the tickets that reported only this problem (redacted)."""
        from miner.analysis.redact import redact

        single = (select(issues_t.c.ticket_id).group_by(issues_t.c.ticket_id)
                  .having(func.count() == 1).scalar_subquery())
        query = (select(issues_t.c.cluster_id, tickets_t.c.subject)
                 .join(tickets_t, tickets_t.c.id == issues_t.c.ticket_id)
                 .where(issues_t.c.cluster_id.is_not(None), issues_t.c.ticket_id.in_(single),
                        tickets_t.c.status != "deleted")
                 .order_by(issues_t.c.cluster_id, issues_t.c.cluster_similarity.desc(), issues_t.c.id))
        subjects: dict[int, list[str]] = {}
        with engine.connect() as conn:
            for row in conn.execute(query):
                bucket = subjects.setdefault(row.cluster_id, [])
                if row.subject and len(bucket) < SAMPLE_PER_CLUSTER:
                    bucket.append(redact(row.subject))
        return subjects

    def _offline_names(self, docs: dict[int, list[str]], subjects: dict[int, list[str]]) -> dict[int, tuple[str, str]]:
        """Name: a short title from the subject lines and central reports (see `cluster_title`);
        summary: the cluster's key phrases from class-based TF-IDF."""
        if not docs:
            return {}
        ids = sorted(docs)
        texts = [t for cid in ids for t in docs[cid]]
        labels = np.array([cid for cid in ids for _ in docs[cid]])
        phrases = algorithm.top_phrases(texts, labels, top=4)
        out = {}
        for cid in ids:
            keys = phrases.get(cid) or []
            name = cluster_title(docs[cid], keys, subjects=subjects.get(cid, ())) or (keys or [""])[0]
            name = sentence_case(name) if name else f"Cluster {cid}"
            out[cid] = (name, f"Key phrases: {', '.join(keys)}." if keys else "")
        return out

    # --- Claude -------------------------------------------------------------------------------
    def _claude_name(self, engine: Engine, cluster_id: int, category: str | None,
                     sample: list[tuple[str, str]]) -> tuple[tuple[str, str], float] | None:
        from miner.analysis.redact import redact

        summaries = [s for s, _ in sample[:CLAUDE_SAMPLE]]
        quotes = [q for _, q in sample[:5] if q]
        content = (f"Category: {category or 'unknown'}\n\nIssue summaries:\n"
                   + "\n".join(f"- {redact(s)}" for s in summaries)
                   + "\n\nCustomer quotes:\n" + "\n".join(f'- "{redact(q)}"' for q in quotes))
        parsed, cost = self.ask(engine, "name_cluster", NAMING_PROMPT, content, ClusterName, max_tokens=400)
        if not isinstance(parsed, ClusterName):
            return None
        name = " ".join(parsed.name.split())
        if not 3 <= len(name) <= 120:
            return None
        return (name, parsed.summary.strip()[:1000]), cost

    def same_problem(self, engine: Engine, a: Sequence[str], b: Sequence[str]) -> tuple[SameProblem | None, float]:
        """Ask Claude whether two clusters (a few summaries of each) report the same problem; (None, cost)
        when it did not give a valid answer."""
        from miner.analysis.redact import redact

        def side(label: str, summaries: Sequence[str]) -> str:
            return f"Group {label}:\n" + "\n".join(f"- {redact(s)}" for s in summaries[:MERGE_SAMPLE])

        parsed, cost = self.ask(engine, "merge_clusters", MERGE_PROMPT, side("A", a) + "\n\n" + side("B", b),
                                SameProblem, max_tokens=200)
        return (parsed if isinstance(parsed, SameProblem) else None), cost

    def ask(self, engine: Engine, purpose: str, system: str, content: str, schema: type[BaseModel], *,
            max_tokens: int) -> tuple[BaseModel | None, float]:
        """One structured Claude call, recorded in llm_calls under `purpose` with its cost. Returns the
        parsed reply (None on an API error, a refusal, truncation or an invalid reply) and the cost."""
        import anthropic

        from miner.analysis.claude import message_text, usage_of
        from miner.analysis.store import call_row

        if self.claude is None:
            return None, 0.0
        try:
            message = self.claude.messages.create(
                model=self.model, max_tokens=max_tokens, system=system,
                messages=[{"role": "user", "content": content}],
                output_config={"format": {"type": "json_schema", "schema": anthropic.transform_schema(schema)}},
            )
        except anthropic.APIError as exc:  # best effort: the offline answer stands
            log.warning("Claude call for %s failed: %s", purpose, exc)
            return None, 0.0
        usage = usage_of(message)
        cost = self.prices.cost(self.model, usage) if self.prices else None
        outcome = "ok"
        parsed: BaseModel | None = None
        if message.stop_reason in ("refusal", "max_tokens"):
            outcome = message.stop_reason
        else:
            try:
                parsed = schema.model_validate(json.loads(message_text(message)))
            except (ValueError, ValidationError):
                outcome = "invalid"
        with db.write_transaction(engine) as conn:
            conn.execute(insert(calls_t).values(call_row(
                run_id=self.run_id, ticket_id=None, purpose=purpose, model=self.model or "", usage=usage, cost_usd=cost,
                stop_reason=message.stop_reason, outcome=outcome)))
        return parsed, cost or 0.0


MAX_TITLE_WORDS = 8
# What a report starts with that is not the problem: the channel it came through, a shout, the turn that
# introduces a second problem ("A second problem:", "Also,", "PS:").
_CHANNEL = re.compile(r"^(?:(?:phone call|voicemail|chat|conversation|call|sms|whatsapp|email|ticket|case|"
                      r"re|fwd?|fw|urgent|important|help|asap|question)\b\s*[:!\-–—]+\s*)+", re.IGNORECASE)
_SHIFT = re.compile(r"^(?:a second problem|second (?:thing|issue|problem)|separate issue|another thing(?: we noticed)?|"
                    r"also|and also|ps|p\.s\.|unrelated,? but|on top of that|and while i have you|one more thing|"
                    r"oh,? and|not sure if (?:it'?s )?related,? but)\b\s*[:,.\-–—]*\s*", re.IGNORECASE)
# Who suffers it is detail; the title says what goes wrong ("Several of our servers with Android phones
# can't clock in" -> "Android phones can't clock in").
_WHO = re.compile(r"^(?:(?:several|some|all|most|many|a few|half|none|one|two|three|a lot|lots|a number|loads|"
                  r"a couple|a good number|quite a few)(?: of)? )?(?:our|my|the|we|i|us|your)?\s*"
                  r"(?:whole |entire |new )?(?:[a-z]+ )?(?:staff|team|employees|users|people|managers|"
                  r"workers|servers|drivers|nurses|colleagues|crew|members|officers|guards|cleaners)"
                  r"(?: with| on| using)?\s+", re.IGNORECASE)
_CLAUSES = re.compile(r"\s*(?:[,;:()]|\s[-–—]\s|\s(?:but|because|since|which|so|although|though|while)\s)\s*",
                      re.IGNORECASE)
_ASIDE = re.compile(r"\s*\([^()]*\)")
_PREPOSITIONS = {"for", "with", "from", "by", "to", "at", "on", "of", "in", "via", "and", "or"}
_TITLE_WORD = re.compile(r"[\w'’.+#/-]+")


def cluster_title(summaries: Sequence[str], key_phrases: Sequence[str] = (), candidates: int = 40,
                  subjects: Sequence[str] = ()) -> str:
    """A short name (at most MAX_TITLE_WORDS words) for a cluster, from its most central reports
    (`summaries`, nearest first) and its key phrases.

    Each central report is cleaned: without the channel ("Phone call:"), the turn that introduced it
    ("A second problem:"), who suffers it ("Several of our staff"), when ("since yesterday"), and any
    word that varies from report to report - names of people and sites, numbers, devices - so no
    person's name or other detail of one customer ends up in a name everybody reads. A report that is
    already short after that wins if it says (nearly) as many of the key phrases as the best one; else
    the best is cut to the stretch of its clause that says most of them.

    Customers title their tickets themselves, and a subject line several of them wrote ("Android clock
    in not working") names a problem better than a sentence cut from a report: with `subjects` (the
    subject lines of tickets that reported only this problem), the cleaned subject that says most key
    phrases, then the one most tickets share, wins unless a report says clearly more of them."""
    keywords = {w for phrase in key_phrases for w in algorithm.phrase_words(phrase)} - algorithm.STOP_WORDS
    vocab = _vocabulary([*summaries, *subjects])
    support = _Support(summaries[:candidates])
    report = _report_title(summaries, keywords, vocab, candidates, support)
    titled = _subject_title(subjects, keywords, vocab, support)
    if titled and (not report or (support(titled) >= SUBJECT_SUPPORT * support(report)
                                  and (says_problem(titled) or not says_problem(report))
                                  and _hits(titled, keywords) + 1 >= _hits(report, keywords))):
        return _calm(titled, vocab)
    return _calm(report, vocab)


SUBJECT_SUPPORT = 0.5  # a subject line several customers wrote wins unless a report is clearly more central
CUT_SUPPORT = 0.8  # a report cut to MAX_TITLE_WORDS counts as this much less central
CUE_SUPPORT = 2 / 3  # a title that says what goes wrong wins over a more central one that does not, down to this share

# Words that say what goes wrong (or, for a request, what is wanted): "Report totals" names a topic,
# "Report totals wrong" a problem.
_CUE_WORDS = """
not no never nothing none cannot cant can't won't wont doesn't doesnt didn't didnt isn't isnt aren't arent wasn't
don't dont couldn't shouldn't fail fails failed failing failure error errors wrong broken broke crash crashes crashed
crashing stuck slow slower freezes frozen freeze hang hangs missing lost lose loses twice double duplicate duplicates
duplicated expired expires loop loops blocked rejected rejects rejecting cut cuts off out timeout times incorrect
disappear disappears disappeared gone delayed late stopped stops keeps confusing outdated unclear visible leak
exposed charged overcharged request requests add allow let option wish please support unable trouble problem issue
"""
_CUES = frozenset(_CUE_WORDS.split())


def says_problem(title: str) -> bool:
    """Whether a title says what goes wrong (or what is wanted), not only what it is about."""
    return any(w in _CUES or w.endswith("n't") for w in (x.casefold() for x in _TITLE_WORD.findall(title)))


class _Support:
    """How central a title is to a cluster: the mean, over its central reports (duplicates count: more
    customers said it), of the overlap of content words (cosine of word sets). Key phrases are distinctive
    for the cluster against the others, but a minority of its reports can supply them ("reset email
    arrives fine" in a cluster about swapped shifts still shown); what most of its reports say is the
    problem."""

    def __init__(self, reports: Sequence[str]) -> None:
        self.bags = [b for b in (_content(r) for r in reports) if b]

    def __call__(self, title: str) -> float:
        words = _content(title)
        if not words or not self.bags:
            return 0.0
        return sum(len(words & b) / math.sqrt(len(words) * len(b)) for b in self.bags) / len(self.bags)


def _hits(title: str, keywords: set[str]) -> int:
    return len(keywords & set(algorithm.phrase_words(title)))


def _content(text: str) -> set[str]:
    return set(algorithm.phrase_words(text)) - algorithm.STOP_WORDS


def _calm(title: str, vocab: _Vocabulary) -> str:
    """A shouted title ("SCHEDULE PAGE SO SLOW") in sentence case; words the texts only ever write in
    capitals (SSO, PDF) stay so."""
    letters = [c for c in title if c.isalpha()]
    if len(letters) < 4 or not all(c.isupper() for c in letters):
        return title
    words = [w.lower() if w.lower() in vocab.lower else w for w in title.split()]
    calm = " ".join(words)
    return calm[:1].upper() + calm[1:]


def _subject_title(subjects: Sequence[str], keywords: set[str], vocab: _Vocabulary, support: _Support) -> str | None:
    """The most central subject line shared by at least two tickets, if any says a key phrase."""
    count: Counter[str] = Counter()
    spelled: dict[str, str] = {}
    for subject in subjects:
        title, complete = _shorten(" ".join(subject.split()).rstrip(".!?"), keywords, vocab, support, whole=True)
        if not complete or len(title.split()) < 2:
            continue
        key = title.casefold()
        count[key] += 1
        spelled.setdefault(key, title)
    scored = [(support(key) * (1.0 if says_problem(key) else CUE_SUPPORT), n, key) for key, n in count.items() if n >= 2
              and keywords & set(algorithm.phrase_words(key)) and key.split()[0].strip("'’") not in _OPENERS]
    if not scored:
        return None
    return spelled[max(scored, key=lambda s: (s[0], s[1], -len(s[2])))[2]]


def _report_title(summaries: Sequence[str], keywords: set[str], vocab: _Vocabulary, candidates: int,
                  support: _Support) -> str:
    options: list[tuple[float, bool, int, str]] = []  # (support, complete, position, title)
    seen: set[str] = set()
    for position, text in enumerate(summaries):
        text = " ".join(text.split()).rstrip(".!?")
        if text.casefold() in seen:
            continue
        seen.add(text.casefold())
        if len(seen) > candidates:
            break
        title, complete = _shorten(text, keywords, vocab, support)
        if len(title.split()) >= 2:  # a report cut to fit reads worse than one that fitted whole
            options.append((support(title) * (1.0 if complete else CUT_SUPPORT), complete, position, title))
    if not options:
        return ""
    short = [o for o in options if len(o[3].split()) >= 3 and o[3].split()[0].casefold().strip("'’") not in _OPENERS]
    pool = short or options
    top = max(o[0] for o in pool)
    pool = [o for o in pool if says_problem(o[3]) and o[0] >= CUE_SUPPORT * top] or pool
    return max(pool, key=lambda o: (o[0], o[1], -o[2]))[3]


@dataclass(frozen=True)
class _Vocabulary:
    shared: set[str]  # words several of a cluster's texts use (the problem's words), lower case
    lower: set[str]  # words the texts also write in lower case (so not only ever as a name)


def _vocabulary(texts: Sequence[str]) -> _Vocabulary:
    """Which words are the problem's, as opposed to the ones a single report brings (a person, a site,
    a number)."""
    counts: Counter[str] = Counter()
    lower: set[str] = set()
    for text in texts:
        words = _TITLE_WORD.findall(text)
        counts.update({w.casefold() for w in words})
        lower.update(w for w in words if w.islower())
    floor = max(2, round(0.05 * len(texts)))
    return _Vocabulary({w for w, n in counts.items() if n >= floor}, lower)


_NAME_CONTEXT = {"for", "with", "from", "by", "to", "and", "ask", "asked", "tell", "told", "called", "named",
                 "colleague", "coworker", "co-worker", "manager", "employee", "mr", "mrs", "ms", "dr", "hi", "hello",
                 "dear", "thanks", "cc"}
_NAME_LISTS = ("first_names", "first_names_female", "first_names_male", "first_names_nonbinary", "last_names",
               "first_romanized_names", "first_romanized_names_female", "first_romanized_names_male",
               "last_romanized_names")


@functools.lru_cache(maxsize=1)
def person_names() -> frozenset[str]:
    """First and last names in Latin script from Faker's person providers (about 29,000, from some 80
    locales), lower case: how a name in a report is recognised."""
    import importlib
    import pkgutil

    import faker.providers.person as providers

    names: set[str] = set()
    for module in pkgutil.iter_modules(providers.__path__):
        try:
            provider = importlib.import_module(f"{providers.__name__}.{module.name}").Provider
        except (ImportError, AttributeError):
            continue
        for attr in _NAME_LISTS:
            values = getattr(provider, attr, None)
            if not isinstance(values, dict | list | tuple):
                continue
            for name in values:
                if isinstance(name, str) and _LATIN_NAME.fullmatch(name):
                    names.add(name.casefold())
    return frozenset(names)


_LATIN_NAME = re.compile(r"[A-Za-z][A-Za-z'’-]+")
# Capitalised words that are also surnames in the name lists but name a language or a day here.
_NOT_PEOPLE_WORDS = """english french german spanish italian polish dutch portuguese irish welsh scottish british
american canadian australian chinese japanese korean arabic hindi swedish danish norwegian finnish greek turkish
russian czech hungarian romanian monday tuesday wednesday thursday friday saturday sunday"""
_NOT_PEOPLE = frozenset(_NOT_PEOPLE_WORDS.split())


def _is_detail(word: str, previous: str | None, first: bool, keywords: set[str], vocab: _Vocabulary) -> bool:
    """A word of one report that must not name a cluster: a person, a number, a site or device name.

    A person's name is never kept, even when many reports mention the same person: a known first or
    last name that the texts never write in lower case ("Lena", not "page"), or that follows "for",
    "ask", "colleague"..."""
    key = word.casefold().strip("'’.")
    if any(ch.isdigit() for ch in word) or word.startswith(("[", "<", "{")):
        return True
    if key in algorithm.STOP_WORDS:
        return False
    if key in person_names() and key not in _NOT_PEOPLE and (key not in vocab.lower or (previous or "").casefold() in _NAME_CONTEXT):
        return True
    if key in keywords or key in vocab.shared:
        return False
    return word[:1].isupper() and not word.isupper() and not first


def _shorten(text: str, keywords: set[str], vocab: _Vocabulary, support: _Support, *,
             whole: bool = False) -> tuple[str, bool]:
    """The title a report gives (its clause that says most key phrases, or all of it with `whole`),
    and whether it fitted without cutting."""
    text = _CHANNEL.sub("", text)
    text = _SHIFT.sub("", text).strip(" -–—:,")
    text = _ASIDE.sub("", text)  # "(mostly Pixel 7a)": an aside is one report's detail
    clauses = [text.strip()] if whole else [c.strip() for c in _CLAUSES.split(text) if c and c.strip()]
    if not clauses:
        return "", False
    best = max(clauses, key=lambda c: (support(c), len(keywords & set(algorithm.phrase_words(c))), -clauses.index(c)))
    best = _WHEN.sub("", _WHO.sub("", _WHEN.sub("", best)))
    kept: list[str] = []
    for i, word in enumerate(w.strip("'’") or w for w in _TITLE_WORD.findall(best)):  # quotes around a label go
        if _is_detail(word, kept[-1] if kept else None, i == 0, keywords, vocab):
            if kept and kept[-1].casefold() in _PREPOSITIONS:
                kept.pop()  # "overtime for Omar": the name goes, and the "for" that announced it
            _trim(kept)
            if len(kept) >= 3:  # "rejected at Dock 4 for 12 people on the Pixel 7a": the rest is detail too
                break
            continue
        kept.append(word)
    _trim(kept)
    complete = len(kept) <= MAX_TITLE_WORDS
    if not complete:  # the stretch that says most of the key phrases, earliest on a tie
        windows = [kept[i:i + MAX_TITLE_WORDS] for i in range(len(kept) - MAX_TITLE_WORDS + 1)]
        start = max(range(len(windows)),
                    key=lambda i: (len(keywords & {x.casefold() for x in windows[i]}), -i))
        cut_short = start + MAX_TITLE_WORDS < len(kept)
        kept = windows[start]
        joins = [i for i, w in enumerate(kept) if w.casefold() in {"and", "or", "but"} and i >= 3]
        if cut_short and joins:  # "Swap stays open and the coworker is never [told]": end at the clause
            del kept[joins[-1]:]
        _trim(kept)
    return (sentence_case(" ".join(kept)) if kept else ""), complete


_WHEN = re.compile(r"^(?:(?:(?:since|as of|from|starting|after) (?:yesterday|today|this morning|last \w+|\w+day|"
                   r"the \w+ update|the update|the last \w+(?: \w+)?)|yesterday|today|again|still|suddenly|"
                   r"recently|now)\b[, ]*)+", re.IGNORECASE)
_DANGLING = {"again", "anymore", "today", "yesterday", "now", "though", "either", "too", "also", "still", "says",
             "said", "say", "is", "are", "was", "were", "be", "been", "has", "have", "had", "get", "gets",
             # a modal or a negation ends nothing: "New starters can't [log in]"
             "can", "can't", "cannot", "won't", "don't", "doesn't", "didn't", "isn't", "aren't", "not", "never",
             "will", "would", "could", "should", "must", "let", "lets", "make", "makes"}


_PARTICLES = {"in", "out", "up", "off", "down", "on", "back", "over"}  # "clock in", "log out", "sign up"
# verbs whose particle ends a phrase: "can't clock in", "can't get in", "asked to log out"
_PHRASAL = {f"{verb}{ending}" for verb in ("clock", "log", "sign", "check", "opt", "punch", "time", "pick", "hand",
                                            "turn", "switch", "start", "kick", "lock", "roll", "back",
                                            "fill", "set", "cut", "get", "go", "come", "give", "put", "take", "keep",
                                            "find", "call", "carry", "load", "sync", "freeze", "shut", "break")
            for ending in ("", "s", "ed", "ing")} | {"got", "gone", "went", "came", "gave", "taken", "took", "kept",
                                                    "found", "logged", "clocked", "clocking", "logging"}  # common verbs (stop words too) whose particle ends a phrase: "can't get in"
_OPENERS = {"we've", "we", "i", "i've", "i'm", "my", "our", "there", "be", "do", "does", "is", "are", "have", "has",
            "see", "been", "getting", "get", "got", "this", "it", "its", "it's"}


def _trim(words: list[str]) -> None:
    """No title starts with a preposition or ends on a word that leaves it hanging."""
    def dangling(i: int) -> bool:
        key = words[i].casefold()
        if key in _PARTICLES and i > 0:  # a verb's particle ends a phrase ("can't clock in"); else it hangs
            return words[i - 1].casefold() not in _PHRASAL
        return key in algorithm.STOP_WORDS or key in _PREPOSITIONS or key in _DANGLING
    while words and dangling(len(words) - 1):
        words.pop()
    while words and words[0].casefold() in _PREPOSITIONS | {"that", "which", "who"}:
        words.pop(0)


def dominant_labels(engine: Engine) -> None:
    """Store each cluster's most common category, subcategory and issue type."""
    with engine.connect() as conn:
        rows = conn.execute(select(issues_t.c.cluster_id, issues_t.c.category, issues_t.c.subcategory,
                                   issues_t.c.issue_type).where(issues_t.c.cluster_id.is_not(None))).all()
    by_cluster: dict[int, Counter[tuple[str, str, str]]] = {}
    for r in rows:
        by_cluster.setdefault(r.cluster_id, Counter())[(r.category, r.subcategory, r.issue_type)] += 1
    updates = []
    for cid, counts in by_cluster.items():
        (cat, sub, _), _ = counts.most_common(1)[0]
        types: Counter[str] = Counter()
        for (_, _, t), n in counts.items():
            types[t] += n
        updates.append({"cid": cid, "cat": cat, "sub": sub, "type": types.most_common(1)[0][0]})
    if updates:
        with db.write_transaction(engine) as conn:
            conn.execute(update(clusters_t).where(clusters_t.c.id == bindparam("cid"))
                         .values(category=bindparam("cat"), subcategory=bindparam("sub"),
                                 issue_type=bindparam("type")), updates)
