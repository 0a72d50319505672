"""Every recorded Zendesk response (tests/fixtures/zendesk) parses through the client."""

from __future__ import annotations

import pytest

from miner.zendesk import ZendeskClient, parse_retry_after
from tests.conftest import REFERENCE
from tests.fakes.replay_zendesk import ReplayZendesk, load_recording


def recorded(name: str) -> list[dict]:
    data = load_recording(REFERENCE / name)
    return data if isinstance(data, list) else [data]


def test_cursor_chain_of_single_ticket_pages_is_followed_page_by_page() -> None:
    entries = recorded("incremental_tickets_cursor_chain_per_page_1.json.gz")
    expected = [t["id"] for e in entries for t in e["body"]["tickets"]]
    with ReplayZendesk(REFERENCE / "incremental_tickets_cursor_chain_per_page_1.json.gz") as zd:
        client = ZendeskClient(zd.url, rpm=0)
        pages = client.ticket_pages(start_time=0)
        got = [t.id for _, page in zip(range(len(entries)), pages, strict=False) for t in page.tickets]
        assert zd.misses == []
    assert got == expected
    # the first request carries start_time, every later one only the cursor; always per_page=1000
    assert "start_time" in zd.seen[0] and "cursor" not in zd.seen[0]
    assert all("cursor" in q and "start_time" not in q for q in zd.seen[1:])
    assert {q["per_page"] for q in zd.seen} == {"1000"}


def test_full_cursor_page_with_deleted_tickets() -> None:
    with ReplayZendesk(REFERENCE / "incremental_tickets_cursor_page_1000.json.gz") as zd:
        page = next(ZendeskClient(zd.url, rpm=0).ticket_pages(start_time=0))
    assert len(page.tickets) == 1000
    assert page.after_cursor == "MTY5NTA2MjcyNC4wfHwxNTcxfA=="
    assert page.end_of_stream is False
    deleted = [t for t in page.tickets if t.status == "deleted"]
    assert len(deleted) == 515
    assert all(t.generated_timestamp for t in page.tickets)


def test_time_based_ticket_export_pages() -> None:
    entries = recorded("incremental_tickets_time_based.json.gz")
    with ReplayZendesk(REFERENCE / "incremental_tickets_time_based.json.gz") as zd:
        first = next(ZendeskClient(zd.url, rpm=0).ticket_pages_time_based(start_time=0))
    assert len(first.tickets) == entries[0]["body"]["count"] == 1000
    assert first.end_time == entries[0]["body"]["end_time"]


def test_ticket_comments_page() -> None:
    with ReplayZendesk(REFERENCE / "ticket_comments.json.gz") as zd:
        comments = ZendeskClient(zd.url, rpm=0).ticket_comments(33)
    assert [(c.id, c.body, c.public) for c in comments] == [(33144692244499, "Some comment", True)]


@pytest.mark.parametrize(
    ("header", "expected"),
    [("7", 7.0), ("1.5", 1.5), (None, 60.0), ("soon", 60.0), ("-3", 0.0), ("nan", 60.0)],
)
def test_retry_after_values(header: str | None, expected: float) -> None:
    assert parse_retry_after(header) == expected


def test_retry_after_http_date_is_seconds_from_now() -> None:
    import time
    from email.utils import formatdate

    assert 25 <= parse_retry_after(formatdate(time.time() + 30, usegmt=True)) <= 30
