"""A fake Anthropic API server for tests and benchmarks.

The product talks to Claude only through the official ``anthropic`` SDK, pointed at a base URL.
This package runs a real HTTP server on ``127.0.0.1:<random port>`` that speaks the wire protocol
of the endpoints the product uses, well enough for the SDK (``anthropic==2.14``):

* ``POST /v1/messages`` (non-streaming), validated against the SDK's own request types
  (``MessageCreateParamsNonStreaming``) with unknown keys and wrong types rejected;
* ``POST /v1/messages/count_tokens``;
* the Message Batches API (create / retrieve / list / cancel / delete / results);
* ``GET /v1/models`` and ``GET /v1/models/{id}``.

Usage::

    with FakeAnthropic(latency=0.05) as fake:
        client = anthropic.Anthropic(base_url=fake.base_url, api_key="test")
        fake.fail_next(1, 429, retry_after=0.1)
        ...
        assert fake.stats.by_status[429] == 1

Replies: with ``output_config.format`` (what ``messages.parse(output_format=Model)`` sends) the
default responder builds a JSON instance that validates against the schema, derived from the
last user message; without a schema it answers a short plain-text sentence. A custom
``responder(request_body)`` may return ``str`` (the text), ``dict``/``list`` (JSON-encoded as the
text), a :class:`FakeReply` (full control of content / stop_reason), or raise
:class:`FakeAPIError` to answer that request with an error. For batch items the responder gets
the item's ``params``.

Out of process (e.g. a demo, or a benchmark that should not share the GIL with the fake):
``python -m tests.fakes.fake_anthropic --port 8089 --latency 0.3`` prints ``ANTHROPIC_BASE_URL=...``;
``GET /_fake/stats`` and ``POST /_fake/control`` (see ``FakeAnthropic._h_admin_control``) inspect /
steer it.

The parts: ``server`` (the HTTP server and its controls), ``validation`` (requests checked as the API
does), ``prompts`` (reading requests), ``responder`` (replies and the default responder), ``messages``
(building a Messages answer), ``tokens`` (token estimate, prompt cache), ``faults`` (injected faults),
``batches`` (Message Batches), ``errors`` and ``wire`` (what answers are made of).
"""

from .errors import ERROR_TYPES, WORKSPACE_SPEND_LIMIT_MESSAGE, FakeAPIError
from .responder import FakeReply, build_instance, default_responder
from .server import FakeAnthropic, FakeStats
from .tokens import estimate_tokens
from .validation import validate_message_params

__all__ = [
    "ERROR_TYPES",
    "WORKSPACE_SPEND_LIMIT_MESSAGE",
    "FakeAPIError",
    "FakeAnthropic",
    "FakeReply",
    "FakeStats",
    "build_instance",
    "default_responder",
    "estimate_tokens",
    "validate_message_params",
]
