"""Tests of the fake Anthropic server itself, driven through the real ``anthropic`` SDK."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import anthropic
import jsonschema
import pydantic
import pytest
from pydantic import BaseModel, Field

try:
    from tests.fakes.fake_anthropic import FakeAnthropic, FakeAPIError, FakeReply, build_instance
except ImportError:  # pytest's rootdir-less "prepend" import mode puts tests/ on sys.path
    from fakes.fake_anthropic import FakeAnthropic, FakeAPIError, FakeReply, build_instance

MODEL = "claude-haiku-5-5"


class TicketAnalysis(BaseModel):
    category: Literal["bug", "billing", "feature_request", "other"]
    summary: str = Field(max_length=80)
    quote: str
    severity: int = Field(ge=1, le=5)
    confidence: float = Field(ge=0, le=1)
    tags: list[str] = Field(min_length=1, max_length=3)
    follow_up: bool | None = None


TICKET = (
    "Classify the support ticket below.\n"
    "<ticket>\nticket_id: 4521\n"
    "The export button crashes the whole app when I click it twice. I lost an hour of work.\n"
    "</ticket>"
)


@pytest.fixture(scope="module")
def server():
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture
def fake(server):
    server.reset()
    server.latency = 0.0
    server.responder = None
    server.min_cacheable_tokens = 1024
    server.batch_processing_delay = 0.0
    yield server
    server.reset()


@pytest.fixture
def client(fake):
    return anthropic.Anthropic(base_url=fake.base_url, api_key="test", max_retries=0)


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


# ---------------------------------------------------------------------------------- messages


def test_create_round_trip(fake, client):
    msg = client.messages.create(model=MODEL, max_tokens=200, messages=user("Hello there. How are you?"))
    assert msg.id.startswith("msg_") and msg.type == "message" and msg.role == "assistant"
    assert msg.model == MODEL
    assert msg.stop_reason == "end_turn" and msg.stop_sequence is None
    assert msg.content[0].type == "text" and "Hello there." in msg.content[0].text
    assert msg.usage.input_tokens == 7  # ceil(len("Hello there. How are you?") / 4)
    assert msg.usage.output_tokens > 0
    assert msg.usage.cache_creation_input_tokens == 0 and msg.usage.cache_read_input_tokens == 0
    assert fake.message_requests[0]["messages"] == user("Hello there. How are you?")
    call = fake.calls[0]
    assert call["headers"]["anthropic-version"] and "x-api-key" not in call["headers"]
    assert fake.stats.messages_ok == 1
    assert client.messages.count_tokens(model=MODEL, messages=user("Hello there. How are you?")).input_tokens == 7


def test_parse_round_trip_schema_valid(fake, client):
    msg = client.messages.parse(model=MODEL, max_tokens=1024, messages=user(TICKET), output_format=TicketAnalysis)
    out = msg.parsed_output
    assert isinstance(out, TicketAnalysis)
    assert out.summary in TICKET and len(out.summary) <= 80
    assert out.quote == "The export button crashes the whole app when I click it twice."
    assert 1 <= out.severity <= 5 and 0 <= out.confidence <= 1
    body = fake.message_requests[0]
    schema = body["output_config"]["format"]["schema"]
    jsonschema.validate(json.loads(msg.content[0].text), schema)
    # the schema counts towards input tokens
    assert msg.usage.input_tokens > len(TICKET) // 4
    # deterministic for identical input
    again = client.messages.parse(model=MODEL, max_tokens=1024, messages=user(TICKET), output_format=TicketAnalysis)
    assert again.parsed_output == out


def test_build_instance_handles_refs_anyof_and_ids():
    class Item(BaseModel):
        ticket_id: int
        theme: str
        sentiment: Literal["negative", "neutral", "positive"]

    class Out(BaseModel):
        items: list[Item]
        note: str | None = None

    schema = anthropic.transform_schema(Out)
    prompt = (
        "<tickets>\nticket_id: 11\nLogin fails with a 500 error on Safari browsers.\n"
        "ticket_id: 12\nPlease add a dark mode to the dashboard settings page.\n</tickets>"
    )
    value = build_instance(schema, prompt)
    parsed = Out.model_validate(value)
    assert [i.ticket_id for i in parsed.items] == [11, 12]
    assert "Safari" in parsed.items[0].theme or "Login" in parsed.items[0].theme
    assert "dark mode" in parsed.items[1].theme
    # <ticket id="..."> attributes feed "*_id" fields too
    value = build_instance(schema, '<ticket id="31">Crash on start.</ticket><ticket id="32">Slow search results page.</ticket>')
    assert [i["ticket_id"] for i in value["items"]] == [31, 32]


def test_custom_responder_variants(fake, client):
    fake.responder = lambda body: {"category": "billing", "summary": "s", "quote": "q", "severity": 3, "confidence": 0.5, "tags": ["x"]}
    msg = client.messages.parse(model=MODEL, max_tokens=512, messages=user("hi"), output_format=TicketAnalysis)
    assert msg.parsed_output.category == "billing"

    fake.responder = lambda body: FakeReply(text="partial", stop_reason="pause_turn", output_tokens=7)
    msg = client.messages.create(model=MODEL, max_tokens=512, messages=user("hi"))
    assert (msg.stop_reason, msg.content[0].text, msg.usage.output_tokens) == ("pause_turn", "partial", 7)

    def boom(body):
        raise FakeAPIError(529)

    fake.responder = boom
    with pytest.raises(anthropic.OverloadedError):
        client.messages.create(model=MODEL, max_tokens=512, messages=user("hi"))


def test_max_tokens_truncates_naturally(fake, client):
    fake.responder = lambda body: "word " * 100
    msg = client.messages.create(model=MODEL, max_tokens=10, messages=user("hi"))
    assert msg.stop_reason == "max_tokens" and msg.usage.output_tokens == 10
    assert len(msg.content[0].text) == 40


# -------------------------------------------------------------------------------- validation


def test_rejects_unknown_field_and_wrong_type(fake, client):
    with pytest.raises(anthropic.BadRequestError) as err:
        client.messages.create(model=MODEL, max_tokens=10, messages=user("hi"), extra_body={"foo": 1})
    assert err.value.type == "invalid_request_error"
    assert "foo: Extra inputs are not permitted" in err.value.api_message

    with pytest.raises(anthropic.BadRequestError) as err:
        client.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": [{"type": "text", "text": "x", "bogus": 1}]}])
    assert err.value.api_message.startswith("messages.0.content.0.bogus")

    with pytest.raises(anthropic.BadRequestError) as err:
        client.messages.create(model=MODEL, max_tokens=10, messages=user("hi"), extra_body={"max_tokens": "10"})
    assert "max_tokens" in err.value.api_message

    with pytest.raises(anthropic.BadRequestError, match=r"system\.0\.cache_controll"):
        client.messages.create(model=MODEL, max_tokens=10, messages=user("hi"), system=[{"type": "text", "text": "s", "cache_controll": {"type": "ephemeral"}}])


@pytest.mark.parametrize("param", ["temperature", "top_p"])
def test_rejects_sampling_params(fake, client, param):
    with pytest.raises(anthropic.BadRequestError) as err:
        client.messages.create(model=MODEL, max_tokens=10, messages=user("hi"), extra_body={param: 0.2})
    assert err.value.status_code == 400 and err.value.api_message.startswith(param)


def test_rejects_stream_and_bad_schema_and_unknown_model(fake, client):
    with pytest.raises(anthropic.BadRequestError, match="stream"):
        client.messages.create(model=MODEL, max_tokens=10, messages=user("hi"), stream=True)
    loose = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    with pytest.raises(anthropic.BadRequestError, match="additionalProperties"):
        client.messages.create(model=MODEL, max_tokens=10, messages=user("hi"), output_config={"format": {"type": "json_schema", "schema": loose}})
    too_strict = {**loose, "additionalProperties": False, "properties": {"a": {"type": "string", "maxLength": 5}}}
    with pytest.raises(anthropic.BadRequestError, match="maxLength"):
        client.messages.create(model=MODEL, max_tokens=10, messages=user("hi"), output_config={"format": {"type": "json_schema", "schema": too_strict}})
    recursive = {"$defs": {"Node": {"type": "object", "additionalProperties": False, "required": ["kids"],
                                    "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}},
                 "$ref": "#/$defs/Node"}
    with pytest.raises(anthropic.BadRequestError, match="Recursive"):
        client.messages.create(model=MODEL, max_tokens=10, messages=user("hi"), output_config={"format": {"type": "json_schema", "schema": recursive}})
    with pytest.raises(anthropic.NotFoundError):
        client.messages.create(model="gpt-4o", max_tokens=10, messages=user("hi"))
    assert fake.stats.messages_ok == 0 and fake.stats.by_status[400] == 4


# ------------------------------------------------------------------------------------- caching


def test_prompt_cache_read_on_second_identical_prefix(fake, client):
    system = [{"type": "text", "text": "You are a support-ticket analyst. " * 150, "cache_control": {"type": "ephemeral"}}]
    first = client.messages.create(model=MODEL, max_tokens=50, system=system, messages=user("Ticket one: the app crashes."))
    second = client.messages.create(model=MODEL, max_tokens=50, system=system, messages=user("Ticket two: billing is wrong."))
    prefix = -(-len(system[0]["text"]) // 4)
    assert prefix >= 1024
    assert first.usage.cache_creation_input_tokens == prefix and first.usage.cache_read_input_tokens == 0
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == prefix
    assert second.usage.cache_read_input_tokens == prefix and second.usage.cache_creation_input_tokens == 0
    assert second.usage.input_tokens == -(-len("Ticket two: billing is wrong.") // 4)
    # other model -> separate cache; short prefix -> not cacheable
    other = client.messages.create(model="claude-sonnet-5-5", max_tokens=50, system=system, messages=user("x"))
    assert other.usage.cache_read_input_tokens == 0 and other.usage.cache_creation_input_tokens == prefix
    short = [{"type": "text", "text": "short", "cache_control": {"type": "ephemeral"}}]
    for _ in range(2):
        msg = client.messages.create(model=MODEL, max_tokens=50, system=short, messages=user("x"))
        assert msg.usage.cache_read_input_tokens == 0 and msg.usage.cache_creation_input_tokens == 0
    assert fake.stats.cache_read_input_tokens == prefix


def test_top_level_cache_control_reuses_conversation_prefix(fake, client):
    fake.min_cacheable_tokens = 100
    turn = [{"role": "user", "content": "x" * 800}]
    first = client.messages.create(model=MODEL, max_tokens=10, cache_control={"type": "ephemeral", "ttl": "1h"}, messages=turn)
    assert first.usage.cache_creation.ephemeral_1h_input_tokens == 200
    longer = [*turn, {"role": "assistant", "content": "ok"}, {"role": "user", "content": "y" * 800}]
    second = client.messages.create(model=MODEL, max_tokens=10, cache_control={"type": "ephemeral"}, messages=longer)
    assert (second.usage.cache_read_input_tokens, second.usage.cache_creation_input_tokens) == (200, 201)


# ------------------------------------------------------------------------------ fault injection


def test_429_with_retry_after_is_retried_by_sdk(fake):
    retrying = anthropic.Anthropic(base_url=fake.base_url, api_key="test", max_retries=2)
    fake.fail_next(2, 429, retry_after=0.05)
    started = time.monotonic()
    msg = retrying.messages.create(model=MODEL, max_tokens=20, messages=user("hi"))
    assert msg.stop_reason == "end_turn"
    assert time.monotonic() - started >= 0.1
    assert fake.stats.by_status[429] == 2 and fake.stats.by_status[200] == 1
    assert [c["headers"].get("x-stainless-retry-count") for c in fake.calls] == ["0", "1", "2"]


def test_429_headers_and_body(fake, client):
    fake.fail_next(1, 429, retry_after=1.5)
    with pytest.raises(anthropic.RateLimitError) as err:
        client.messages.create(model=MODEL, max_tokens=20, messages=user("hi"))
    resp = err.value.response
    assert resp.headers["retry-after"] == "2" and resp.headers["retry-after-ms"] == "1500"
    assert err.value.body["type"] == "error" and err.value.type == "rate_limit_error"
    assert err.value.request_id.startswith("req_")


def test_529_overloaded(fake, client):
    fake.fail_next(1, 529)
    with pytest.raises(anthropic.OverloadedError) as err:
        client.messages.create(model=MODEL, max_tokens=20, messages=user("hi"))
    assert err.value.type == "overloaded_error"
    fake.fail_next(1, 529, retry_after=0.01)
    retrying = client.with_options(max_retries=1)
    assert retrying.messages.create(model=MODEL, max_tokens=20, messages=user("hi")).stop_reason == "end_turn"


def test_500_and_should_retry_false(fake):
    retrying = anthropic.Anthropic(base_url=fake.base_url, api_key="test", max_retries=2)
    fake.fail_next(1, 500, should_retry=False)
    with pytest.raises(anthropic.InternalServerError):
        retrying.messages.create(model=MODEL, max_tokens=20, messages=user("hi"))
    assert fake.stats.requests == 1


def test_spend_limit_errors(fake):
    retrying = anthropic.Anthropic(base_url=fake.base_url, api_key="test", max_retries=2)
    fake.fail_next_spend_limit(1)
    with pytest.raises(anthropic.BadRequestError) as err:
        retrying.messages.create(model=MODEL, max_tokens=20, messages=user("hi"))
    assert "workspace API usage limits" in err.value.api_message
    assert fake.stats.requests == 1  # 400: not retried

    fake.fail_next_spend_limit(1, kind="enforced")
    with pytest.raises(anthropic.EnforcedSpendLimitReachedError) as err:
        retrying.with_options(max_retries=0).messages.create(model=MODEL, max_tokens=20, messages=user("hi"))
    assert isinstance(err.value, anthropic.RateLimitError)
    assert err.value.error_code == "enforced_spend_limit_reached"


def test_refusal(fake, client):
    fake.refuse_next(1)
    msg = client.messages.parse(model=MODEL, max_tokens=512, messages=user(TICKET), output_format=TicketAnalysis)
    assert msg.stop_reason == "refusal" and msg.content == [] and msg.parsed_output is None
    assert msg.stop_details.type == "refusal"
    ok = client.messages.parse(model=MODEL, max_tokens=512, messages=user(TICKET), output_format=TicketAnalysis)
    assert ok.stop_reason == "end_turn" and ok.parsed_output is not None


def test_truncated_and_malformed_outputs(fake, client):
    fake.truncate_next(1)
    msg = client.messages.create(model=MODEL, max_tokens=300, messages=user(TICKET),
                                 output_config={"format": {"type": "json_schema", "schema": _schema()}})
    assert msg.stop_reason == "max_tokens" and msg.usage.output_tokens == 300
    with pytest.raises(json.JSONDecodeError):
        json.loads(msg.content[0].text)

    fake.malformed_next(1)
    with pytest.raises(pydantic.ValidationError):  # messages.parse() validates the text itself
        client.messages.parse(model=MODEL, max_tokens=512, messages=user(TICKET), output_format=TicketAnalysis)

    fake.malformed_next(1, mode="schema")
    msg = client.messages.create(model=MODEL, max_tokens=300, messages=user(TICKET),
                                 output_config={"format": {"type": "json_schema", "schema": _schema()}})
    assert msg.stop_reason == "end_turn"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(json.loads(msg.content[0].text), _schema())


def test_faults_are_consumed_in_order(fake, client):
    fake.fail_next(1, 500)
    fake.refuse_next(1)
    with pytest.raises(anthropic.InternalServerError):
        client.messages.create(model=MODEL, max_tokens=20, messages=user("hi"))
    assert client.messages.create(model=MODEL, max_tokens=20, messages=user("hi")).stop_reason == "refusal"
    assert client.messages.create(model=MODEL, max_tokens=20, messages=user("hi")).stop_reason == "end_turn"
    assert fake.pending_faults == 0


def _schema() -> dict:
    return anthropic.transform_schema(TicketAnalysis)


# ------------------------------------------------------------------------------------- batches


def _batch_requests(n: int) -> list[dict]:
    return [
        {
            "custom_id": f"ticket-{i}",
            "params": {
                "model": MODEL, "max_tokens": 512, "messages": user(f"<ticket>Ticket number {i}: the sync keeps failing.</ticket>"),
                "output_config": {"format": {"type": "json_schema", "schema": _schema()}},
            },
        }
        for i in range(n)
    ]


def test_batch_create_poll_results_with_errored_item(fake, client):
    fake.batch_processing_delay = 0.3
    fake.error_batch_items("ticket-1")
    fake.expire_batch_items("ticket-2")
    batch = client.messages.batches.create(requests=_batch_requests(4))
    assert batch.id.startswith("msgbatch_") and batch.processing_status == "in_progress"
    assert batch.request_counts.processing == 4 and batch.results_url is None

    # a "restarted" product process: new client, same server, picks the batch up by id
    other = anthropic.Anthropic(base_url=fake.base_url, api_key="test", max_retries=0)
    assert other.messages.batches.retrieve(batch.id).processing_status == "in_progress"
    deadline = time.monotonic() + 5
    while (batch := other.messages.batches.retrieve(batch.id)).processing_status != "ended":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert batch.ended_at is not None and batch.results_url.endswith(f"/v1/messages/batches/{batch.id}/results")
    counts = batch.request_counts
    assert (counts.succeeded, counts.errored, counts.expired, counts.processing) == (2, 1, 1, 0)

    results = {r.custom_id: r.result for r in other.messages.batches.results(batch.id)}
    assert set(results) == {"ticket-0", "ticket-1", "ticket-2", "ticket-3"}
    assert results["ticket-1"].type == "errored" and results["ticket-1"].error.error.type == "api_error"
    assert results["ticket-2"].type == "expired"
    ok = results["ticket-0"]
    assert ok.type == "succeeded" and ok.message.usage.service_tier == "batch"
    assert TicketAnalysis.model_validate_json(ok.message.content[0].text).quote == "Ticket number 0: the sync keeps failing."
    assert [b.id for b in other.messages.batches.list()] == [batch.id]


def test_batch_validation(fake, client):
    reqs = _batch_requests(2)
    reqs[1]["custom_id"] = reqs[0]["custom_id"]
    with pytest.raises(anthropic.BadRequestError, match="custom_id"):
        client.messages.batches.create(requests=reqs)
    reqs = _batch_requests(2)
    reqs[1]["params"]["temperature"] = 0.5  # params are validated asynchronously -> errored item
    batch = client.messages.batches.create(requests=reqs)
    results = {r.custom_id: r.result for r in client.messages.batches.results(batch.id)}
    assert results["ticket-0"].type == "succeeded"
    assert results["ticket-1"].type == "errored"
    assert results["ticket-1"].error.error.type == "invalid_request_error"
    assert "temperature" in results["ticket-1"].error.error.message


def test_batch_cancel(fake, client):
    fake.batch_processing_delay = 30
    batch = client.messages.batches.create(requests=_batch_requests(3))
    canceling = client.messages.batches.cancel(batch.id)
    assert canceling.processing_status == "canceling" and canceling.cancel_initiated_at is not None
    ended = client.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended" and ended.request_counts.canceled == 3
    assert {r.result.type for r in client.messages.batches.results(batch.id)} == {"canceled"}
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.retrieve("msgbatch_missing")


# -------------------------------------------------------------------------- concurrency & auth


def test_concurrency_is_not_serialised(fake):
    fake.latency = 0.3
    client = anthropic.Anthropic(base_url=fake.base_url, api_key="test", max_retries=0)
    barrier = threading.Barrier(16)

    def call(i: int) -> str:
        barrier.wait()
        return client.messages.create(model=MODEL, max_tokens=50, messages=user(f"Request {i} here.")).stop_reason

    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        reasons = list(pool.map(call, range(16)))
    elapsed = time.monotonic() - started
    assert reasons == ["end_turn"] * 16
    assert elapsed < 16 * 0.3 / 4, elapsed
    assert fake.stats.max_in_flight >= 12


def test_invalid_api_key_gets_401_everywhere(fake):
    bad = anthropic.Anthropic(base_url=fake.base_url, api_key="invalid", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as err:
        bad.messages.create(model=MODEL, max_tokens=10, messages=user("hi"))
    assert err.value.type == "authentication_error"
    with pytest.raises(anthropic.AuthenticationError):
        bad.models.list()
    with pytest.raises(anthropic.AuthenticationError):
        bad.messages.batches.list()
    good = anthropic.Anthropic(base_url=fake.base_url, api_key="test", max_retries=0)
    assert MODEL in [m.id for m in good.models.list()]
    assert good.models.retrieve(MODEL).id == MODEL


def test_request_log_supports_leak_assertions(fake, client):
    client.messages.create(model=MODEL, max_tokens=10, messages=user("Contact me at [redacted]"))
    client.messages.batches.create(requests=_batch_requests(1))
    text = fake.request_text()
    assert "[redacted]" in text and "ticket-0" in text
    assert "@" not in text
    assert len(fake.requests) == 2


def test_control_endpoint_for_out_of_process_use(fake, client):
    import urllib.request

    req = urllib.request.Request(f"{fake.base_url}/_fake/control", data=json.dumps(
        {"latency": 0.0, "fail_next": {"n": 1, "status": 500}}).encode(), method="POST")
    assert json.load(urllib.request.urlopen(req))["ok"] is True
    with pytest.raises(anthropic.InternalServerError):
        client.messages.create(model=MODEL, max_tokens=10, messages=user("hi"))
    stats = json.load(urllib.request.urlopen(f"{fake.base_url}/_fake/stats"))
    assert stats["by_status"] == {"500": 1} and stats["requests"] == 1
