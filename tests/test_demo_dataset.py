"""The built-in demo dataset: shape, ground truth, time patterns, realism, and that labels never leak."""

from __future__ import annotations

import gc
import re
import statistics
import tomllib
from collections import Counter, defaultdict
from dataclasses import FrozenInstanceError, fields
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import httpx
import pytest

from miner.demo import catalogue as cat
from miner.demo.dataset import (
    AGENT_ID_BASE,
    FIRST_TICKET_ID,
    ISSUE_TYPES,
    ORG_ID_BASE,
    SEVERITIES,
    USER_ID_BASE,
    DemoComment,
    DemoDataset,
    DemoLabel,
    DemoTicket,
    _Builder,
    generate_dataset,
)
from miner.demo.server import DemoZendesk

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TAXONOMY = tomllib.loads(
    (Path(__file__).resolve().parents[1] / "miner" / "analysis" / "taxonomy.toml").read_text()
)
STATUSES = {"new", "open", "pending", "hold", "solved", "closed"}


@pytest.fixture(scope="module")
def dataset() -> DemoDataset:
    return generate_dataset(NOW)


def issue_tickets(dataset: DemoDataset, key: str) -> list[DemoTicket]:
    return [t for t in dataset.tickets if key in dataset.labels[t.id].issue_keys]


def in_window(tickets: list[DemoTicket], newest_days: float, oldest_days: float) -> int:
    """Tickets created between `oldest_days` and `newest_days` before NOW."""
    return sum(1 for t in tickets if NOW - timedelta(days=oldest_days) <= t.created_at < NOW - timedelta(days=newest_days))


# --- determinism and arguments ------------------------------------------------------------------------


def test_same_arguments_give_the_same_dataset() -> None:
    first = generate_dataset(NOW, n_tickets=1200, seed=7)
    assert first == generate_dataset(NOW, n_tickets=1200, seed=7)
    other = generate_dataset(NOW, n_tickets=1200, seed=8)
    assert [t.description for t in other.tickets] != [t.description for t in first.tickets]


def test_now_defaults_to_the_current_minute_and_must_be_timezone_aware() -> None:
    data = generate_dataset(n_tickets=20)
    assert data.now.tzinfo is not None and data.now.second == 0 and data.now.microsecond == 0
    assert abs(datetime.now(UTC) - data.now) < timedelta(minutes=2)
    with pytest.raises(ValueError, match="timezone-aware"):
        generate_dataset(datetime(2026, 11, 28), n_tickets=20)
    with pytest.raises(ValueError, match="n_tickets"):
        generate_dataset(NOW, n_tickets=0)


def test_generated_objects_are_the_public_frozen_dataclasses(dataset: DemoDataset) -> None:
    ticket = dataset.tickets[0]
    rebuilt = DemoTicket(*(getattr(ticket, f.name) for f in fields(DemoTicket)))
    assert rebuilt == ticket and hash(rebuilt) == hash(ticket) and repr(rebuilt) == repr(ticket)
    comment = ticket.comments[-1]
    assert DemoComment(*(getattr(comment, f.name) for f in fields(DemoComment))) == comment
    label = dataset.labels[ticket.id]
    assert DemoLabel(label.ticket_id, label.issue_keys, label.non_issue_reason) == label
    with pytest.raises(FrozenInstanceError):
        ticket.status = "open"  # type: ignore[misc]


def test_generation_leaves_the_garbage_collector_as_it_was() -> None:
    assert gc.isenabled()
    generate_dataset(NOW, n_tickets=10)
    assert gc.isenabled()
    gc.disable()
    try:
        generate_dataset(NOW, n_tickets=10)
        assert not gc.isenabled()
    finally:
        gc.enable()


# --- size, people and ids -----------------------------------------------------------------------------


def test_volume_organisations_and_requesters(dataset: DemoDataset) -> None:
    tickets = dataset.tickets
    assert len(tickets) == 6000
    with_org = [t for t in tickets if t.organization_id is not None]
    assert len({t.organization_id for t in with_org}) >= 300
    assert 0.03 <= 1 - len(with_org) / len(tickets) <= 0.08  # individuals
    requesters: dict[int, set[int]] = defaultdict(set)
    for t in with_org:
        requesters[t.organization_id].add(t.requester_id)  # type: ignore[index]
    assert statistics.median(len(r) for r in requesters.values()) >= 2
    assert max(len(r) for r in requesters.values()) >= 6
    assert set(dataset.organizations) >= {t.organization_id for t in with_org}
    assert len(set(dataset.organizations.values())) == len(dataset.organizations)  # unique names


def test_ids_are_large_unique_and_ordered(dataset: DemoDataset) -> None:
    tickets = dataset.tickets
    assert [t.id for t in tickets] == list(range(FIRST_TICKET_ID, FIRST_TICKET_ID + len(tickets)))
    assert all(a.created_at <= b.created_at for a, b in pairwise(tickets))
    assert all(ORG_ID_BASE < o < USER_ID_BASE for o in dataset.organizations)
    assert all(a >= AGENT_ID_BASE for a in dataset.agents)
    assert all(USER_ID_BASE < t.requester_id < AGENT_ID_BASE for t in tickets)
    assert all(t.assignee_id is None or t.assignee_id in dataset.agents for t in tickets)
    assert all(t.submitter_id in dataset.agents or t.submitter_id == t.requester_id for t in tickets)
    comments = sorted((c.created_at, c.id) for t in tickets for c in t.comments)
    ids = [cid for _, cid in comments]
    assert len(set(ids)) == len(ids) and min(ids) > 10_000_000_000
    assert all(a[1] < b[1] for a, b in pairwise(comments) if a[0] < b[0])


def test_nothing_happens_outside_the_window(dataset: DemoDataset) -> None:
    latest = NOW - timedelta(minutes=2)
    for t in dataset.tickets:
        assert NOW - timedelta(days=120) <= t.created_at <= t.updated_at <= latest
        for c in t.comments:
            assert c.created_at.tzinfo is not None and c.created_at.utcoffset() == timedelta(0)
            assert c.created_at.microsecond == 0


# --- ground truth ---------------------------------------------------------------------------------------


def test_catalogue_fits_the_taxonomy(dataset: DemoDataset) -> None:
    categories = TAXONOMY["categories"]
    issues = dataset.issues
    assert len(issues) >= 28
    for issue in issues.values():
        assert issue.subcategory in categories[issue.category]["subcategories"], issue.key
        assert issue.issue_type in ISSUE_TYPES and issue.severity in SEVERITIES
    assert {i.issue_type for i in issues.values()} == set(ISSUE_TYPES)
    assert {i.severity for i in issues.values()} == set(SEVERITIES)
    assert len({i.category for i in issues.values()}) >= 8
    assert Counter(i.pattern for i in issues.values()) == Counter(
        {"steady": len(issues) - 2, "emerging": 1, "fading": 1})
    for label in dataset.labels.values():
        assert all(key in issues for key in label.issue_keys)
        assert (label.non_issue_reason is None) == bool(label.issue_keys)
        assert label.non_issue_reason is None or label.non_issue_reason in TAXONOMY["non_issue"]
    assert set(dataset.labels) == {t.id for t in dataset.tickets}


def test_issue_volumes_have_a_long_tail(dataset: DemoDataset) -> None:
    counts = Counter(key for label in dataset.labels.values() for key in label.issue_keys)
    assert set(counts) == set(dataset.issues)
    assert sum(1 for n in counts.values() if n >= 200) >= 3
    assert sum(1 for n in counts.values() if 30 <= n <= 100) >= 12
    assert min(counts.values()) >= 25


def test_non_issues_and_two_issue_tickets(dataset: DemoDataset) -> None:
    labels = list(dataset.labels.values())
    non_issue = [label for label in labels if not label.issue_keys]
    assert 0.30 <= len(non_issue) / len(labels) <= 0.35
    assert {label.non_issue_reason for label in non_issue} == set(TAXONOMY["non_issue"])
    with_issues = [label for label in labels if label.issue_keys]
    two = [label for label in with_issues if len(label.issue_keys) == 2]
    assert 0.09 <= len(two) / len(with_issues) <= 0.15
    assert all(len(set(label.issue_keys)) == 2 for label in two)


def test_tricky_tickets_exist(dataset: DemoDataset) -> None:
    """A how-to about exporting and an invoice question are not issues; a double charge is one."""
    by_reason: dict[str | None, list[str]] = defaultdict(list)
    for t in dataset.tickets:
        by_reason[dataset.labels[t.id].non_issue_reason].append(t.description.lower())
    assert any("export" in text for text in by_reason["how_to"])
    assert any("invoice" in text for text in by_reason["billing_question"])
    charged = issue_tickets(dataset, "subscription_charged_twice")
    assert any("charged twice" in t.description.lower() or "twice" in t.description.lower() for t in charged)


# --- time patterns --------------------------------------------------------------------------------------


def test_the_emerging_issue_emerges(dataset: DemoDataset) -> None:
    (key,) = [i.key for i in dataset.issues.values() if i.pattern == "emerging"]
    tickets = issue_tickets(dataset, key)
    assert in_window(tickets, 0, 10) >= 40
    assert in_window(tickets, 10, 38) <= 2  # the 28 days before: essentially absent
    assert in_window(tickets, 0, 5) > in_window(tickets, 5, 10)  # and still rising


def test_the_fading_issue_fades(dataset: DemoDataset) -> None:
    (key,) = [i.key for i in dataset.issues.values() if i.pattern == "fading"]
    tickets = issue_tickets(dataset, key)
    before = [in_window(tickets, start, start + 15) for start in (45, 60, 75, 90, 105)]
    assert min(before) >= 8  # steady until the fix...
    after = in_window(tickets, 0, 45)
    assert after <= 12 and after < 0.15 * sum(before[:3])  # ...then only a handful of stragglers


def test_a_steady_issue_stays_steady(dataset: DemoDataset) -> None:
    tickets = issue_tickets(dataset, "schedule_week_view_slow")
    months = [in_window(tickets, start, start + 30) for start in (0, 30, 60, 90)]
    assert max(months) < 2 * min(months)


def test_weekends_are_quieter(dataset: DemoDataset) -> None:
    per_day = Counter(t.created_at.date() for t in dataset.tickets)
    first, last = min(per_day), max(per_day)
    full_days = [d for d in per_day if first < d < last]
    weekday = statistics.mean(per_day[d] for d in full_days if d.weekday() < 5)
    weekend = statistics.mean(per_day[d] for d in full_days if d.weekday() >= 5)
    assert 0.33 <= weekend / weekday <= 0.47
    assert statistics.pstdev(per_day[d] for d in full_days if d.weekday() == 2) > 0  # daily noise


def test_status_follows_age(dataset: DemoDataset) -> None:
    def age(t: DemoTicket) -> timedelta:
        return NOW - t.created_at

    assert all(t.status in STATUSES for t in dataset.tickets)
    recent = [t.status for t in dataset.tickets if age(t) < timedelta(days=1)]
    old = [t.status for t in dataset.tickets if age(t) > timedelta(days=14)]
    assert "closed" not in recent
    assert sum(s in ("new", "open", "pending") for s in recent) / len(recent) >= 0.7
    assert sum(s in ("solved", "closed") for s in old) / len(old) >= 0.85
    assert 0 < sum(s == "hold" for s in old) / len(old) <= 0.06
    assert all(t.assignee_id is None for t in dataset.tickets if t.status == "new")


# --- conversations ---------------------------------------------------------------------------------------


def test_conversations_are_well_formed(dataset: DemoDataset) -> None:
    lengths: Counter[int] = Counter()
    for t in dataset.tickets:
        first = t.comments[0]
        assert t.description == first.body and first.public and first.author_id == t.requester_id
        assert t.created_at == first.created_at and t.updated_at == t.comments[-1].created_at
        assert all(a.created_at < b.created_at for a, b in pairwise(t.comments))
        assert all(c.author_id in dataset.agents for c in t.comments if not c.public)
        assert t.via_channel in ("email", "web", "mobile", "chat", "api")
        assert t.priority in (None, "low", "normal", "high", "urgent")
        assert t.type in (None, "problem", "incident", "question", "task")
        lengths[len(t.comments)] += 1
    assert max(lengths) <= 6 and lengths[1] > 0 and lengths[6] > 0
    notes = [c for t in dataset.tickets for c in t.comments if not c.public]
    assert len(notes) > 300
    assert any(re.search(r"\b(JIRA|ENG|MOB|PLAT)-\d+", c.body) for c in notes)
    followups = [c for t in dataset.tickets for c in t.comments[1:] if c.author_id == t.requester_id]
    assert len(followups) > 500


def test_deleted_tickets_are_mostly_spam(dataset: DemoDataset) -> None:
    deleted = [t for t in dataset.tickets if t.deleted]
    assert 0.005 <= len(deleted) / len(dataset.tickets) <= 0.015
    spam = sum(dataset.labels[t.id].non_issue_reason == "spam" for t in deleted)
    assert spam / len(deleted) >= 0.7


# --- no leaks ---------------------------------------------------------------------------------------------


def test_tags_never_carry_the_labels(dataset: DemoDataset) -> None:
    forbidden = set(dataset.issues) | set(TAXONOMY["non_issue"]) | set(TAXONOMY["categories"])
    for category in TAXONOMY["categories"].values():
        forbidden |= set(category["subcategories"])
    tags = Counter(tag for t in dataset.tickets for tag in t.tags)
    assert not forbidden & set(tags)
    assert not any(key in tag for tag in tags for key in dataset.issues)
    assert {"vip", "plan_enterprise", "plan_starter", "inbound_email", "csat_offered"} <= set(tags)
    assert any(tag.startswith("lang_") for tag in tags)


def test_ticket_text_never_names_the_ground_truth(dataset: DemoDataset) -> None:
    titles = [i.title.lower() for i in dataset.issues.values()]
    keys = list(dataset.issues)
    for t in dataset.tickets:
        text = "\n".join([t.subject, *(c.body for c in t.comments)]).lower()
        assert not any(key in text for key in keys), t.id
        assert not any(title in text for title in titles), t.id


# --- realism ------------------------------------------------------------------------------------------------


def test_every_template_renders() -> None:
    builder = _Builder(NOW, 10, 120, 10, 1)
    builder.build()
    templates = [s for spec in cat.ISSUES for s in (*spec.subjects, *spec.bodies)]
    templates += [part for entries in cat.NON_ISSUES.values() for entry in entries for part in entry]
    templates += [part for pair in cat.SPAM for part in pair]
    templates += [*cat.CONTEXT_SENTENCES, *cat.ISSUE_CONTEXT_SENTENCES, *cat.SIGNATURES, *cat.FORWARD_INTROS, *cat.QUOTED_NOISE,
                  *cat.PII_SNIPPETS, *cat.BILLING_PII_SNIPPETS, *cat.INTERNAL_NOTES, *cat.FOLLOWUPS_STILL]
    for template in templates:
        rendered = builder.text.fmt(template)
        assert "{" not in rendered and "}" not in rendered, template
    builder.close()


def test_each_issue_is_written_many_ways(dataset: DemoDataset) -> None:
    for spec in cat.ISSUES:
        assert len(set(spec.bodies)) >= 8 and len(set(spec.subjects)) >= 4, spec.key
    for key in dataset.issues:
        tickets = issue_tickets(dataset, key)
        assert len({t.description for t in tickets}) >= 0.8 * len(tickets), key
        assert len({t.subject for t in tickets}) >= 8, key
    lengths = sorted(len(t.description) for t in dataset.tickets)
    assert lengths[len(lengths) // 10] < 100 and lengths[-len(lengths) // 10] > 320  # one-liners and long emails


def test_customers_write_like_people(dataset: DemoDataset) -> None:
    texts = [t.description for t in dataset.tickets]
    n = len(texts)
    lowercase = sum(text == text.lower() for text in texts) / n
    assert 0.03 <= lowercase <= 0.12
    assert sum("---------- Forwarded message" in text for text in texts) > 50
    assert sum(text.startswith(("Hi", "Hello", "Dear", "Good", "Hey", "To whom")) for text in texts) > n / 4
    vague = set(cat.VAGUE_SUBJECTS)
    assert sum(t.subject in vague for t in dataset.tickets) > n / 20
    assert sum(t.subject.startswith("Conversation with") for t in dataset.tickets) > 100
    non_native = [t for t in dataset.tickets if any(tag.startswith("lang_") for tag in t.tags)]
    assert sum(any(g in t.description for g in cat.NON_NATIVE_GREETINGS) for t in non_native) > 20
    # typing slips: words from the catalogue with two letters swapped or one dropped
    vocabulary = {w.lower() for spec in cat.ISSUES for body in spec.bodies for w in re.findall(r"[A-Za-z]{6,}", body)}
    words = Counter(w.lower() for text in texts for w in re.findall(r"[A-Za-z]{6,}", text))
    slips = [w for w in words if w not in vocabulary and any(_one_slip_from(w, v) for v in vocabulary)]
    assert len(slips) > 50


def _one_slip_from(word: str, target: str) -> bool:
    if abs(len(word) - len(target)) > 1 or word[:2] != target[:2]:
        return False
    if len(word) == len(target):
        diff = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
        return len(diff) == 2 and diff[1] == diff[0] + 1 and word[diff[0]] == target[diff[1]]
    short, long = sorted((word, target), key=len)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _iban_ok(text: str) -> bool:
    compact = text.replace(" ", "").upper()  # some customers write everything in lowercase
    return int("".join(str(int(ch, 36)) for ch in compact[4:] + compact[:4])) % 97 == 1


def test_some_tickets_carry_personal_data(dataset: DemoDataset) -> None:
    patterns = {
        "email": re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
        "phone": re.compile(r"(?:\+\d{1,2} )?(?:\(\d{3}\) |\d{2,3} )?\d{3,4}[ -]\d{4}\b"),
        "ip": re.compile(r"\b(?:192\.0\.2|198\.51\.100|203\.0\.113)\.\d{1,3}\b"),
        "card": re.compile(r"\b\d{4} \d{4} \d{4} \d{4}\b"),
        "iban": re.compile(r"\b[A-Z]{2}\d{2}(?: [A-Z0-9]{4}){3,7}(?: [A-Z0-9]{1,3})?\b", re.IGNORECASE),
    }
    found: Counter[str] = Counter()
    with_pii = 0
    for t in dataset.tickets:
        text = "\n".join(c.body for c in t.comments if c.author_id == t.requester_id)
        kinds = {kind for kind, pattern in patterns.items() if pattern.search(text)}
        text = patterns["iban"].sub("", text)  # so that no card number is found inside an IBAN
        found.update(kinds)
        with_pii += bool(kinds)
        for card in patterns["card"].findall(text):
            assert _luhn(card.replace(" ", "")), card
        for iban in patterns["iban"].findall(text):
            assert _iban_ok(iban), iban
        for address in patterns["email"].findall(text):
            assert address.endswith("example.com") or address.endswith("shiftwise.example"), address
    assert 0.10 <= with_pii / len(dataset.tickets) <= 0.22
    assert all(found[kind] >= 5 for kind in patterns), found


# --- served by the demo Zendesk -------------------------------------------------------------------------------


def test_the_demo_zendesk_serves_the_dataset() -> None:
    data = generate_dataset(n_tickets=300)
    with DemoZendesk(data) as zendesk:
        response = httpx.get(f"{zendesk.url}/api/v2/incremental/tickets/cursor.json", params={"start_time": 0})
        assert response.status_code == 200
        served = response.json()["tickets"]
        assert served and {t["id"] for t in served} <= {t.id for t in data.tickets}
        first = next(t for t in data.tickets if not t.deleted)
        comments = httpx.get(f"{zendesk.url}/api/v2/tickets/{first.id}/comments.json").json()["comments"]
        assert [c["id"] for c in comments] == [c.id for c in first.comments]
