"""A fake Anthropic API server for tests and benchmarks.

The product talks to Claude only through the official ``anthropic`` SDK, pointed at a base URL.
This module runs a real HTTP server on ``127.0.0.1:<random port>`` that speaks the wire protocol
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
``GET /_fake/stats`` and ``POST /_fake/control`` (see ``_h_admin_control``) inspect / steer it.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import math
import random
import re
import secrets
import socket
import string
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jsonschema
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

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

# --------------------------------------------------------------------------------------------
# Constants

#: HTTP status -> ``error.type`` as the real API sends it.
ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

_DEFAULT_ERROR_MESSAGES: dict[str, str] = {
    "invalid_request_error": "Invalid request.",
    "authentication_error": "invalid x-api-key",
    "billing_error": "Your credit balance is too low to access the Anthropic API.",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "not_found_error": "The requested resource could not be found.",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": (
        "This request would exceed the rate limit for your organization of 50 requests per minute. "
        "For details, refer to: https://docs.claude.com/en/api/rate-limits."
    ),
    "api_error": "Internal server error",
    "timeout_error": "Request timed out",
    "overloaded_error": "Overloaded",
}

#: What the real API answers (HTTP 400, ``invalid_request_error``) once a workspace's spend
#: limit is reached; ``{date}`` is the first day of next month.
WORKSPACE_SPEND_LIMIT_MESSAGE = (
    "You have reached your specified workspace API usage limits. "
    "You will regain access on {date} at 00:00 UTC."
)
_ENFORCED_SPEND_LIMIT_MESSAGE = (
    "Your organization has reached the monthly API usage limit of its usage tier. "
    "You will regain access on {date} at 00:00 UTC."
)
_CONTRACT_SPEND_LIMIT_MESSAGE = "Your organization has reached the spend limit of its contract."

_SAMPLING_PARAMS = ("temperature", "top_p", "top_k")
_HEADER_ONLY_PARAMS = {"user_profile_id": "anthropic-user-profile-id", "workspace_id": "anthropic-workspace-id"}
_MAX_BODY_BYTES = 32 * 1024 * 1024
_MAX_BATCH_BODY_BYTES = 256 * 1024 * 1024
_MAX_OUTPUT_TOKENS = 128_000
_MAX_CACHE_BREAKPOINTS = 4
_CUSTOM_ID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_SUPPORTED_STRING_FORMATS = {
    "date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid",
}
_UNSUPPORTED_SCHEMA_KEYWORDS = (
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    "minLength", "maxLength", "maxItems", "uniqueItems", "minProperties", "maxProperties",
    "patternProperties", "not", "if", "then", "else", "dependentRequired", "dependentSchemas",
    "contains", "minContains", "maxContains", "prefixItems",
)
_KNOWN_MODELS = (
    "claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5", "claude-opus-5", "claude-sonnet-5",
    "claude-opus-4-8", "claude-opus-4-7", "claude-opus-4-6", "claude-sonnet-4-6", "claude-haiku-4-5",
    "claude-opus-4-5", "claude-sonnet-4-5",
)
_MODEL_RE = re.compile(r"^claude-[a-z0-9][a-z0-9.@-]*$")


def _now() -> datetime:
    return datetime.now(UTC)


def _rfc3339(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.isoformat().replace("+00:00", "Z")


def _rand_id(prefix: str, n: int = 24) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(n))


def _first_of_next_month() -> str:
    now = _now()
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return f"{year:04d}-{month:02d}-01"


def estimate_tokens(text: str) -> int:
    """The fake's token estimate: ``ceil(len(text) / 4)``."""
    return math.ceil(len(text) / 4) if text else 0


def _stable_int(*parts: Any) -> int:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8", "replace")).hexdigest()
    return int(digest[:12], 16)


# --------------------------------------------------------------------------------------------
# Public helper types


class FakeAPIError(Exception):
    """Raise from a custom responder to answer that request with an API error.

    In a batch, the item becomes an ``errored`` result carrying this error.
    """

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        error_type: str | None = None,
        headers: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.error_type = error_type or ERROR_TYPES.get(status, "api_error")
        self.message = message or _DEFAULT_ERROR_MESSAGES.get(self.error_type, "Error")
        self.headers = dict(headers or {})
        self.details = details
        super().__init__(f"{status} {self.error_type}: {self.message}")


@dataclass
class FakeReply:
    """Full control over one reply from a custom responder.

    ``text`` becomes a single text block (``content`` overrides it with raw blocks; an empty
    ``content=[]`` is allowed). ``output_tokens`` defaults to ``ceil(len(text)/4)``. When
    ``stop_reason`` is given explicitly, ``max_tokens`` truncation is not applied.
    """

    text: str | None = None
    content: list[dict[str, Any]] | None = None
    stop_reason: str | None = None
    stop_details: dict[str, Any] | None = None
    stop_sequence: str | None = None
    output_tokens: int | None = None


@dataclass
class FakeStats:
    """A snapshot of the server's counters (``FakeAnthropic.stats`` returns a copy)."""

    requests: int = 0                      # every HTTP request, any endpoint
    by_status: Counter = field(default_factory=Counter)
    by_endpoint: Counter = field(default_factory=Counter)   # "messages", "batches", ...
    messages_ok: int = 0                   # 200 answers from POST /v1/messages
    in_flight: int = 0                     # POST /v1/messages currently being handled
    max_in_flight: int = 0
    input_tokens: int = 0                  # summed over every generated message (incl. batches)
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    batches_created: int = 0
    batch_items_processed: int = 0
    faults_injected: int = 0


@dataclass
class _Fault:
    kind: Literal["error", "refusal", "truncate", "malformed"]
    endpoint: str = "messages"
    status: int = 200
    error_type: str | None = None
    message: str | None = None
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] | None = None
    text: str | None = None        # refusal text
    mode: str = "json"             # malformed: "json" | "schema"


# --------------------------------------------------------------------------------------------
# Request validation against the SDK's own param types

_VALIDATOR: Any = None
_VALIDATOR_LOCK = threading.Lock()


def _build_params_validator() -> Any:
    """A pydantic-core validator for ``{"body": MessageCreateParamsNonStreaming}``.

    The SDK's TypedDicts allow extra keys and use lazily-validated ``Iterable[...]`` fields, so
    the generated core schema is patched: every typed-dict / model forbids extra keys and every
    lazy generator becomes an eagerly validated list.
    """
    from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
    from pydantic import ConfigDict, TypeAdapter
    from pydantic_core import SchemaValidator
    from typing_extensions import TypedDict

    class _Wrapper(TypedDict):
        __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
        body: MessageCreateParamsNonStreaming

    schema = copy.deepcopy(TypeAdapter(_Wrapper).core_schema)

    def patch(node: Any) -> None:
        if isinstance(node, dict):
            kind = node.get("type")
            if kind == "generator":
                node["type"] = "list"
            elif kind in ("typed-dict", "model-fields"):
                node["extra_behavior"] = "forbid"
            elif kind == "model" and isinstance(node.get("config"), dict):
                node["config"] = {**node["config"], "extra_fields_behavior": "forbid"}
            for value in list(node.values()):
                patch(value)
        elif isinstance(node, list):
            for value in node:
                patch(value)

    patch(schema)
    return SchemaValidator(schema)


def _params_validator() -> Any:
    global _VALIDATOR
    if _VALIDATOR is None:
        with _VALIDATOR_LOCK:
            if _VALIDATOR is None:
                _VALIDATOR = _build_params_validator()
    return _VALIDATOR


def _is_union_label(segment: Any) -> bool:
    # API field names are snake_case; pydantic union branch labels are type names such as
    # "TextBlockParam", "str", "list[...]", "function-after[...]".
    return isinstance(segment, str) and (
        any(c.isupper() for c in segment) or "[" in segment or segment in {"str", "int", "float", "bool", "list", "dict", "none"}
    )


def _summarize_validation_errors(errors: list[dict[str, Any]]) -> str:
    # Drop union branches whose discriminator ("type"/"role") did not match.
    bad_prefixes = set()
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "literal_error" and len(loc) >= 2 and loc[-1] in ("type", "role") and _is_union_label(loc[-2]):
            bad_prefixes.add(loc[:-1])
    kept = [e for e in errors if not any(tuple(e["loc"])[: len(p)] == p for p in bad_prefixes)] or errors
    deepest = max(len(e["loc"]) for e in kept)
    messages: list[str] = []
    for err in kept:
        if len(err["loc"]) != deepest:
            continue
        loc = [str(s) for s in err["loc"] if not _is_union_label(s)]
        if loc and loc[0] == "body":
            loc = loc[1:]
        text = f"{'.'.join(loc) or 'body'}: {err['msg']}"
        if text not in messages:
            messages.append(text)
    return "; ".join(messages[:3])


def _schema_problem(schema: Any, path: str = "output_config.format.schema") -> str | None:
    """The first feature of a structured-output schema that the real API rejects, if any.

    Clients send the same schema with every request: the verdict is cached per schema text, so the
    fake's own cost does not dominate throughput benchmarks.
    """
    try:
        key = json.dumps(schema, sort_keys=True) + "|" + path
    except (TypeError, ValueError):
        return _schema_problem_uncached(schema, path)
    if key not in _SCHEMA_VERDICTS:
        _SCHEMA_VERDICTS[key] = _schema_problem_uncached(schema, path)
    return _SCHEMA_VERDICTS[key]


_SCHEMA_VERDICTS: dict[str, str | None] = {}
_VALIDATORS: dict[str, Any] = {}


def _validator_for(schema: dict[str, Any]) -> Any:
    key = json.dumps(schema, sort_keys=True)
    if key not in _VALIDATORS:
        _VALIDATORS[key] = jsonschema.Draft202012Validator(schema)
    return _VALIDATORS[key]


def _schema_problem_uncached(schema: Any, path: str) -> str | None:
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return f"{path}: invalid JSON schema: {exc.message}"

    def walk(node: Any) -> str | None:
        if not isinstance(node, dict):
            return None
        types = node.get("type")
        type_list = types if isinstance(types, list) else [types]
        label = next((t for t in type_list if isinstance(t, str) and t != "null"), None) or "schema"
        if ("object" in type_list or "properties" in node) and node.get("additionalProperties") is not False:
            return f"{path}: For 'object' type, 'additionalProperties' must be explicitly set to false"
        if "minItems" in node and node["minItems"] not in (0, 1):
            return f"{path}: For 'array' type, 'minItems' values other than 0 or 1 are not supported"
        for keyword in _UNSUPPORTED_SCHEMA_KEYWORDS:
            if keyword in node:
                return f"{path}: For '{label}' type, property '{keyword}' is not supported"
        fmt = node.get("format")
        if fmt is not None and fmt not in _SUPPORTED_STRING_FORMATS:
            return f"{path}: For 'string' type, format '{fmt}' is not supported"
        children: list[Any] = []
        for key in ("properties", "$defs", "definitions"):
            if isinstance(node.get(key), dict):
                children.extend(node[key].values())
        for key in ("anyOf", "allOf", "oneOf"):
            if isinstance(node.get(key), list):
                children.extend(node[key])
        if isinstance(node.get("items"), dict):
            children.append(node["items"])
        for child in children:
            problem = walk(child)
            if problem:
                return problem
        return None

    problem = walk(schema)
    if problem:
        return problem
    cycle = _recursive_ref(schema)
    if cycle:
        return f"{path}: Recursive schemas are not supported ({cycle} references itself)"
    return None


def _recursive_ref(schema: dict[str, Any]) -> str | None:
    """The name of a ``$defs`` entry (or ``#``) that references itself, directly or not."""
    defs: dict[str, Any] = {}
    for key in ("$defs", "definitions"):
        if isinstance(schema.get(key), dict):
            defs.update({f"#/{key}/{name}": sub for name, sub in schema[key].items()})

    def refs(node: Any, top: bool = False) -> set[str]:
        found: set[str] = set()
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                found.add(node["$ref"])
            for key, value in node.items():
                if top and key in ("$defs", "definitions"):
                    continue
                found |= refs(value)
        elif isinstance(node, list):
            for value in node:
                found |= refs(value)
        return found

    graph = {name: refs(sub) for name, sub in defs.items()}
    graph["#"] = refs(schema, top=True)
    for start in graph:
        stack, seen = list(graph[start]), set()
        while stack:
            ref = stack.pop()
            if ref == start:
                return start.rsplit("/", 1)[-1]
            if ref in seen or ref not in graph:
                continue
            seen.add(ref)
            stack.extend(graph[ref])
    return None


def _count_cache_breakpoints(body: dict[str, Any]) -> int:
    count = 1 if body.get("cache_control") else 0
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and tool.get("cache_control"):
            count += 1
    system = body.get("system")
    if isinstance(system, list):
        count += sum(1 for b in system if isinstance(b, dict) and b.get("cache_control"))
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            count += sum(1 for b in content if isinstance(b, dict) and b.get("cache_control"))
    return count


def validate_message_params(
    raw: bytes | str | dict[str, Any], *, strict_schemas: bool = True
) -> tuple[int, str] | None:
    """Validate a ``POST /v1/messages`` body. Returns ``(status, message)`` or ``None`` if valid."""
    if isinstance(raw, dict):
        body: Any = raw
        raw_bytes = json.dumps(raw).encode()
    else:
        raw_bytes = raw.encode() if isinstance(raw, str) else raw
        try:
            body = json.loads(raw_bytes)
        except ValueError as exc:
            return 400, f"Request body is not valid JSON: {exc}"
    if not isinstance(body, dict):
        return 400, "body: Input should be a valid dictionary"
    if body.get("stream") is True:
        return 400, (
            "stream: streaming (stream=true) is not supported by the fake Anthropic server; "
            "use non-streaming messages.create()/messages.parse()"
        )
    for name in _SAMPLING_PARAMS:
        if name in body:
            return 400, (
                f"{name}: Extra inputs are not permitted. Sampling parameter `{name}` is not "
                "supported by current Claude models; remove it from the request."
            )
    for name, header in _HEADER_ONLY_PARAMS.items():
        if name in body:
            return 400, f"{name}: Extra inputs are not permitted (send it as the `{header}` header)"

    from pydantic_core import ValidationError

    try:
        _params_validator().validate_json(b'{"body":' + raw_bytes + b"}", strict=True)
    except ValidationError as exc:
        return 400, _summarize_validation_errors(exc.errors())

    if not body["messages"]:
        return 400, "messages: List should have at least 1 item after validation, not 0"
    if body["max_tokens"] < 0:
        return 400, "max_tokens: Input should be greater than or equal to 0"
    if body["max_tokens"] > _MAX_OUTPUT_TOKENS:
        return 400, f"max_tokens: {body['max_tokens']} > {_MAX_OUTPUT_TOKENS}, which is the maximum allowed number of output tokens"
    model = body["model"]
    if model not in _KNOWN_MODELS and not _MODEL_RE.match(model):
        return 404, f"model: {model}"
    breakpoints = _count_cache_breakpoints(body)
    if breakpoints > _MAX_CACHE_BREAKPOINTS:
        return 400, f"A maximum of {_MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. Found {breakpoints}."
    schema = _output_schema(body)
    if schema is not None and strict_schemas:
        problem = _schema_problem(schema)
        if problem:
            return 400, problem
    return None


# --------------------------------------------------------------------------------------------
# Reading requests


def _output_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    config = body.get("output_config")
    if isinstance(config, dict):
        fmt = config.get("format")
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), dict):
            return fmt["schema"]
    return None


def _block_text(block: Any) -> str:
    if isinstance(block, str):
        return block
    if not isinstance(block, dict):
        return ""
    if block.get("type") == "text":
        return str(block.get("text", ""))
    if block.get("type") == "tool_result":
        content = block.get("content")
        if isinstance(content, list):
            return "\n".join(_block_text(b) for b in content)
        return str(content or "")
    return ""


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "\n".join(t for t in (_block_text(b) for b in content) if t)
    return ""


_TAG_RE = re.compile(r"<([A-Za-z][\w.-]*)(?:\s[^>]*)?>(.*?)</\1>", re.S)


def _focus_text(text: str) -> str:
    """The part of a prompt that is "the data": the longest ``<tag>...</tag>`` body if any."""
    blocks = [m.group(2) for m in _TAG_RE.finditer(text)]
    if blocks:
        text = max(blocks, key=len)
    return re.sub(r"<[^>]+>", " ", text)


def _sentences(text: str) -> list[str]:
    """Sentences/lines of ``text`` (verbatim), preferring prose over ``key: value`` lines."""
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    found = [p.strip() for p in parts if p and p.strip() and re.search(r"\w", p)]
    prose = [s for s in found if len(s.split()) >= 4 and not _METADATA_LINE.match(s)]
    return prose or found


_METADATA_LINE = re.compile(r"^[\w .#/-]{1,40}:\s*\S+(?:\s+\S+){0,2}$")


def _prompt_segments(body: dict[str, Any]) -> list[tuple[str, str, dict[str, Any] | None]]:
    """The prompt in cache order as ``(cache_key_text, token_text, cache_control)`` segments.

    Order: output schema, tools, system, messages (the API renders tools -> system -> messages;
    the structured-output schema is counted as a leading part of the prompt).
    """
    segments: list[tuple[str, str, dict[str, Any] | None]] = []
    schema = _output_schema(body)
    if schema is not None:
        text = json.dumps(schema, sort_keys=True)
        segments.append(("schema:" + text, text, None))
    for tool in body.get("tools") or []:
        if isinstance(tool, dict):
            rest = {k: v for k, v in tool.items() if k != "cache_control"}
            text = json.dumps(rest, sort_keys=True)
            segments.append(("tool:" + text, text, tool.get("cache_control")))
    system = body.get("system")
    if isinstance(system, str) and system:
        segments.append(("system:" + system, system, None))
    elif isinstance(system, list):
        for block in system:
            if isinstance(block, dict):
                rest = {k: v for k, v in block.items() if k != "cache_control"}
                segments.append(("system:" + json.dumps(rest, sort_keys=True), str(block.get("text", "")), block.get("cache_control")))
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        role = str(message.get("role"))
        content = message.get("content")
        if isinstance(content, str):
            segments.append((f"{role}:" + json.dumps(content), content, None))
        elif isinstance(content, list):
            for block in content:
                if not isinstance(block, dict):
                    continue
                rest = {k: v for k, v in block.items() if k != "cache_control"}
                text = _block_text(block) or json.dumps(rest, sort_keys=True)
                segments.append((f"{role}:" + json.dumps(rest, sort_keys=True), text, block.get("cache_control")))
    top = body.get("cache_control")
    if top and segments:
        key, text, own = segments[-1]
        segments[-1] = (key, text, own or top)
    return segments


# --------------------------------------------------------------------------------------------
# Default responder: a schema-valid instance derived from the prompt

_HINT_RE = re.compile(
    r"\b(minLength|maxLength|minimum|maximum|exclusiveMinimum|exclusiveMaximum|minItems|maxItems|multipleOf)\s*:\s*(-?\d+(?:\.\d+)?)"
)
_LONG_TEXT_NAMES = re.compile(r"summary|description|explanation|reason|rationale|details|analysis|comment|notes?$", re.I)
_QUOTE_NAMES = re.compile(r"quote|evidence|excerpt|snippet|verbatim|citation", re.I)
_SHORT_TEXT_NAMES = re.compile(r"title|name|label|category|topic|theme|tag|keyword|headline|feature|product|area", re.I)
_FRACTION_NAMES = re.compile(r"confidence|score|probability|likelihood|ratio|share|certainty", re.I)
_FORMAT_SAMPLES = {
    "date-time": "2026-01-15T12:00:00Z",
    "date": "2026-01-15",
    "time": "12:00:00",
    "duration": "P1D",
    "email": "someone@example.com",
    "hostname": "example.com",
    "uri": "https://example.com/",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
}


def _constraints(schema: dict[str, Any]) -> dict[str, float]:
    """Numeric constraints, including those the SDK moved into the description as ``{k: v}``."""
    found: dict[str, float] = {}
    for key in ("minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems", "multipleOf"):
        value = schema.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            found[key] = value
    description = schema.get("description")
    if isinstance(description, str):
        match = re.search(r"\{([^{}]*)\}\s*$", description)
        if match:
            for key, value in _HINT_RE.findall(match.group(1)):
                found.setdefault(key, float(value) if "." in value else int(value))
    return found


def _is_id_name(name: str | None) -> bool:
    """``id``, ``ticket_id``, ``ticketId``."""
    if not name:
        return False
    return name.lower() == "id" or name.lower().endswith("_id") or name.endswith("Id")


class _InstanceBuilder:
    def __init__(self, root: dict[str, Any], prompt: str) -> None:
        self.root = root
        self.prompt = prompt
        self.focus = _focus_text(prompt)

    # -- helpers --
    def _pick(self, n: int, path: tuple[Any, ...], source: str) -> int:
        return _stable_int(source, "/".join(map(str, path))) % n if n > 0 else 0

    def _resolve(self, schema: Any) -> Any:
        seen = 0
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < 32:
            ref = schema["$ref"]
            if not ref.startswith("#/"):
                break
            node: Any = self.root
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                break
            schema = node
            seen += 1
        return schema

    def _field_values(self, name: str) -> list[tuple[str, int]]:
        pattern = re.compile(rf"(?<![\w]){re.escape(name)}[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9_.:-]*[A-Za-z0-9_])", re.I)
        seen: dict[str, int] = {}
        for match in pattern.finditer(self.prompt):
            seen.setdefault(match.group(1), match.start())
        if not seen and name.lower().endswith("_id"):
            return self._field_values("id")  # e.g. <ticket id="7"> for a "ticket_id" field
        return list(seen.items())

    def _text(self, source: str, cap: int, path: tuple[Any, ...], name: str | None) -> str:
        sentences = _sentences(source) or _sentences(self.focus) or ["No details provided."]
        index = next((p for p in reversed(path) if isinstance(p, int)), 0)
        sentence = sentences[index % len(sentences)]
        if name and _SHORT_TEXT_NAMES.search(name) and not _QUOTE_NAMES.search(name):
            words = sentence.split()
            sentence = " ".join(words[: 6 + self._pick(3, path, source)])
        if len(sentence) > cap:
            cut = sentence[:cap]
            space = cut.rfind(" ")
            sentence = cut[:space] if space > cap // 2 else cut
        return sentence.strip() or "n/a"

    # -- builder --
    def build(self) -> Any:
        return self._build(self.root, (), None, 0, self.focus, None)

    def _build(self, schema: Any, path: tuple[Any, ...], name: str | None, depth: int, source: str, forced: Any) -> Any:
        schema = self._resolve(schema)
        if schema is True or not isinstance(schema, dict) or not schema:
            return self._text(source, 120, path, name)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            options = schema["enum"]
            if forced is not None and forced in options:
                return forced
            return options[self._pick(len(options), path, source)]
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                variants = [self._resolve(v) for v in schema[key]]
                non_null = [v for v in variants if not (isinstance(v, dict) and v.get("type") == "null")]
                if not non_null or depth > 8:
                    return None if len(non_null) < len(variants) else self._build(variants[0], path, name, depth + 1, source, forced)
                return self._build(non_null[0], path, name, depth + 1, source, forced)
        if isinstance(schema.get("allOf"), list) and schema["allOf"]:
            parts = [self._build(v, path, name, depth + 1, source, forced) for v in schema["allOf"]]
            if all(isinstance(p, dict) for p in parts):
                merged: dict[str, Any] = {}
                for p in parts:
                    merged.update(p)
                return merged
            return parts[0]
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
        if kind == "object":
            return self._object(schema, path, depth, source, forced)
        if kind == "array":
            return self._array(schema, path, name, depth, source)
        if kind == "string":
            return self._string(schema, path, name, source, forced)
        if kind in ("integer", "number"):
            return self._number(schema, path, name, source, kind, forced)
        if kind == "boolean":
            return self._pick(2, path, source) == 0
        return None

    def _object(self, schema: dict[str, Any], path: tuple[Any, ...], depth: int, source: str, forced: Any) -> Any:
        properties = schema.get("properties") or {}
        if depth > 10:
            return {k: None for k in schema.get("required") or []}
        overrides = forced if isinstance(forced, dict) else {}
        return {
            key: self._build(sub, (*path, key), key, depth + 1, source, overrides.get(key))
            for key, sub in properties.items()
        }

    def _array(self, schema: dict[str, Any], path: tuple[Any, ...], name: str | None, depth: int, source: str) -> list[Any]:
        limits = _constraints(schema)
        low = int(limits.get("minItems", 0))
        high = int(limits["maxItems"]) if "maxItems" in limits else None
        items = self._resolve(schema.get("items", {}))
        if depth > 10:
            return []
        # One item per "<id_field>: <value>" found in the prompt, for arrays of objects with an id.
        if isinstance(items, dict) and isinstance(items.get("properties"), dict):
            id_field = next((k for k in items["properties"] if _is_id_name(k)), None)
            found = self._field_values(id_field) if id_field else []
            if found:
                if high is not None:
                    found = found[:high]
                starts = [pos for _, pos in found] + [len(self.prompt)]
                result = []
                for i, (value, _) in enumerate(found):
                    chunk = _focus_text(self.prompt[starts[i]: starts[i + 1]])
                    chunk = re.sub(rf"^.*?{re.escape(value)}[\"']?\s*", "", chunk, count=1, flags=re.S) or chunk
                    id_schema = self._resolve(items["properties"][id_field])
                    id_value: Any = value
                    if isinstance(id_schema, dict) and id_schema.get("type") in ("integer", "number"):
                        try:
                            id_value = int(value) if id_schema.get("type") == "integer" else float(value)
                        except ValueError:
                            id_value = None
                    forced = {id_field: id_value} if id_value is not None else None
                    result.append(self._build(items, (*path, i), name, depth + 1, chunk, forced))
                while len(result) < low:
                    result.append(self._build(items, (*path, len(result)), name, depth + 1, source, None))
                return result
        count = max(low, 1 + self._pick(2, path, source))
        if high is not None:
            count = min(count, high)
        return [self._build(items, (*path, i), name, depth + 1, source, None) for i in range(count)]

    def _string(self, schema: dict[str, Any], path: tuple[Any, ...], name: str | None, source: str, forced: Any) -> str:
        if isinstance(forced, str):
            return forced
        fmt = schema.get("format")
        if fmt == "uuid":
            return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{source}|{path}"))
        if fmt in _FORMAT_SAMPLES:
            return _FORMAT_SAMPLES[fmt]
        if name and _is_id_name(name):
            values = self._field_values(name)
            if values:
                return values[0][0]
        limits = _constraints(schema)
        if name and _QUOTE_NAMES.search(name):
            cap = 160
        elif name and _LONG_TEXT_NAMES.search(name):
            cap = 200
        elif name and _SHORT_TEXT_NAMES.search(name):
            cap = 60
        else:
            cap = 120
        if "maxLength" in limits:
            cap = max(1, min(cap, int(limits["maxLength"])))
        text = self._text(source, cap, path, name)
        min_len = int(limits.get("minLength", 0))
        while len(text) < min_len:
            text = (text + " " + text)[: max(min_len, len(text) + 1)]
        return text[:cap] if "maxLength" in limits else text

    def _number(self, schema: dict[str, Any], path: tuple[Any, ...], name: str | None, source: str, kind: str, forced: Any) -> Any:
        if isinstance(forced, (int, float)) and not isinstance(forced, bool):
            return forced
        if name and _is_id_name(name):
            for value, _ in self._field_values(name):
                try:
                    return int(value) if kind == "integer" else float(value)
                except ValueError:
                    pass
        limits = _constraints(schema)
        low = limits.get("minimum")
        high = limits.get("maximum")
        if "exclusiveMinimum" in limits:
            low = limits["exclusiveMinimum"] + (1 if kind == "integer" else 1e-6)
        if "exclusiveMaximum" in limits:
            high = limits["exclusiveMaximum"] - (1 if kind == "integer" else 1e-6)
        if low is not None and high is not None:
            value: float = low + (high - low) * (0.25, 0.5, 0.75)[self._pick(3, path, source)]
        elif low is not None:
            value = low
        elif high is not None:
            value = min(high, 1)
        elif kind == "number" and name and _FRACTION_NAMES.search(name):
            value = (0.6, 0.75, 0.9)[self._pick(3, path, source)]
        else:
            value = 1
        step = limits.get("multipleOf")
        if step:
            value = round(value / step) * step
        if kind == "integer":
            result = round(value)
            if low is not None and result < low:
                result = math.ceil(low)
            if high is not None and result > high:
                result = math.floor(high)
            return result
        return float(value)


def build_instance(schema: dict[str, Any], prompt: str) -> Any:
    """A deterministic instance of ``schema`` derived from ``prompt`` (validated with jsonschema)."""
    instance = _InstanceBuilder(schema, prompt).build()
    _validator_for(schema).validate(instance)
    return instance


def default_responder(body: dict[str, Any]) -> str:
    """The default reply text for a request body (see module docstring)."""
    prompt = _last_user_text(body)
    schema = _output_schema(body)
    if schema is not None:
        return json.dumps(build_instance(schema, prompt), ensure_ascii=False)
    sentences = _sentences(_focus_text(prompt))
    return f"This is a fake reply about: {sentences[0][:160]}" if sentences else "This is a fake reply."


# --------------------------------------------------------------------------------------------
# Prompt cache model


class _PromptCache:
    def __init__(self) -> None:
        self._entries: dict[str, float] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def account(self, model: str, segments: list[tuple[str, str, dict[str, Any] | None]], min_tokens: int) -> tuple[int, int, int, int, int]:
        """Returns ``(total, cache_read, cache_creation, creation_5m, creation_1h)`` tokens."""
        tokens = [estimate_tokens(text) for _, text, _ in segments]
        total = sum(tokens)
        prefix, running = [], 0
        for t in tokens:
            running += t
            prefix.append(running)
        hasher = hashlib.sha256(model.encode())
        keys = []
        for key_text, _, _ in segments:
            hasher.update(b"\x00" + key_text.encode("utf-8", "replace"))
            keys.append(hasher.copy().hexdigest())
        breakpoints = [i for i, (_, _, cc) in enumerate(segments) if cc and prefix[i] >= min_tokens]
        if not breakpoints:
            return total, 0, 0, 0, 0
        now = time.monotonic()
        ttl_of = {i: (3600.0 if (segments[i][2] or {}).get("ttl") == "1h" else 300.0) for i in breakpoints}
        # Like the real API, each breakpoint also looks back up to 20 blocks for an earlier entry.
        candidates = sorted({p for b in breakpoints for p in range(max(0, b - 19), b + 1)}, reverse=True)
        with self._lock:
            hit = -1
            for i in candidates:
                expiry = self._entries.get(keys[i])
                if expiry is not None and expiry > now:
                    hit = i
                    break
            last = breakpoints[-1]
            read = prefix[hit] if hit >= 0 else 0
            creation = prefix[last] - read if last > hit else 0
            for i in breakpoints:
                self._entries[keys[i]] = max(self._entries.get(keys[i], 0.0), now + ttl_of[i])
        creation_1h = creation if creation and ttl_of[last] == 3600.0 else 0
        return total, read, creation, creation - creation_1h, creation_1h


# --------------------------------------------------------------------------------------------
# Batches


@dataclass
class _Batch:
    id: str
    requests: list[dict[str, Any]]
    created_at: datetime
    created_mono: float
    processing_delay: float
    processing_status: str = "in_progress"
    cancel_initiated_at: datetime | None = None
    cancel_mono: float | None = None
    ended_at: datetime | None = None
    results: list[dict[str, Any]] | None = None
    counts: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# The server


class FakeAnthropic:
    """A local fake of the Anthropic API (Messages, Message Batches, Models).

    Thread-safe; start it once per test (or per session) and point the SDK at ``base_url``.
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        responder: Callable[[dict[str, Any]], Any] | None = None,
        min_cacheable_tokens: int = 1024,
        batch_processing_delay: float = 0.0,
        invalid_api_keys: Iterable[str] = ("invalid",),
        strict_schemas: bool = True,
        shuffle_batch_results: bool = True,
        port: int = 0,
        record_requests: bool = True,
    ) -> None:
        self.latency = latency
        self.record_requests = record_requests  # False: keep stats only (long benchmarks)
        self.responder = responder
        self.min_cacheable_tokens = min_cacheable_tokens
        self.batch_processing_delay = batch_processing_delay
        self.invalid_api_keys = set(invalid_api_keys)
        self.strict_schemas = strict_schemas
        self.shuffle_batch_results = shuffle_batch_results
        self.requests: list[Any] = []          # every POST body received (parsed JSON, or raw text)
        self.calls: list[dict[str, Any]] = []   # {"method","path","status","headers","body"} per request
        self._port = port
        self._lock = threading.RLock()
        self._faults: deque[_Fault] = deque()
        self._stats = FakeStats()
        self._cache = _PromptCache()
        self._batches: dict[str, _Batch] = {}
        self._batch_outcomes: dict[str, dict[str, Any]] = {}
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""
        self._app = self._make_app()

    # ---- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeAnthropic:
        if self._thread is not None:
            return self
        _params_validator()  # build once (takes a couple of seconds the first time per process)
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto is
        # IPPROTO_TCP; without it uvicorn's separate header/body writes hit Nagle + delayed ACK (~40 ms).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port))
        self._port = sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self._port}"
        config = uvicorn.Config(
            self._app, log_level="warning", access_log=False, lifespan="off",
            timeout_keep_alive=75, backlog=4096,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"fake-anthropic-{self._port}")
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                raise RuntimeError("fake Anthropic server failed to start")
            time.sleep(0.01)
        self._server, self._thread, self._sock = server, thread, sock
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout=10)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=5)
        try:
            self._sock.close()
        except OSError:
            pass
        self._server = self._thread = None

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget requests, stats, queued faults, the prompt cache, batches and batch outcomes."""
        with self._lock:
            self.requests.clear()
            self.calls.clear()
            self._faults.clear()
            self._stats = FakeStats()
            self._batches.clear()
            self._batch_outcomes.clear()
        self._cache.clear()

    # ---- inspection -----------------------------------------------------------------------

    @property
    def stats(self) -> FakeStats:
        with self._lock:
            snap = copy.copy(self._stats)
            snap.by_status = Counter(self._stats.by_status)
            snap.by_endpoint = Counter(self._stats.by_endpoint)
            return snap

    @property
    def message_requests(self) -> list[dict[str, Any]]:
        """Bodies of ``POST /v1/messages`` requests, in arrival order."""
        with self._lock:
            return [c["body"] for c in self.calls if c["path"] == "/v1/messages" and c["method"] == "POST"]

    def request_text(self) -> str:
        """Every POST body received, JSON-encoded, one per line (for "nothing leaked" assertions)."""
        with self._lock:
            return "\n".join(b if isinstance(b, str) else json.dumps(b, ensure_ascii=False) for b in self.requests)

    @property
    def pending_faults(self) -> int:
        with self._lock:
            return len(self._faults)

    # ---- fault injection --------------------------------------------------------------------

    def fail_next(
        self,
        n: int,
        status: int,
        *,
        retry_after: float | None = None,
        error_type: str | None = None,
        body: str | None = None,
        message: str | None = None,
        details: dict[str, Any] | None = None,
        should_retry: bool | None = None,
        headers: dict[str, str] | None = None,
        endpoint: Literal["messages", "batches", "models", "count_tokens", "any"] = "messages",
    ) -> None:
        """Answer the next ``n`` matching requests with HTTP ``status``.

        ``retry_after`` (seconds, may be fractional) sends ``retry-after`` (whole seconds, rounded
        up) and ``retry-after-ms``. ``should_retry`` sends ``x-should-retry: true|false``.
        ``body`` replaces the whole response body (raw text). ``endpoint`` limits which requests
        consume the fault (default: ``POST /v1/messages`` only).
        """
        extra = dict(headers or {})
        if retry_after is not None:
            extra["retry-after"] = str(max(0, math.ceil(retry_after)))
            extra["retry-after-ms"] = str(round(retry_after * 1000))
        if should_retry is not None:
            extra["x-should-retry"] = "true" if should_retry else "false"
        with self._lock:
            for _ in range(n):
                self._faults.append(_Fault(
                    kind="error", endpoint=endpoint, status=status, error_type=error_type,
                    message=message, body=body, headers=dict(extra), details=details,
                ))

    def fail_next_spend_limit(
        self, n: int = 1, *, kind: Literal["workspace", "enforced", "contract"] = "workspace",
        endpoint: Literal["messages", "batches", "models", "count_tokens", "any"] = "messages",
    ) -> None:
        """Spend-limit errors.

        * ``workspace`` (what the real API sends when a workspace spend limit is hit):
          HTTP 400 ``invalid_request_error`` "You have reached your specified workspace API usage
          limits. You will regain access on YYYY-MM-01 at 00:00 UTC." -> ``anthropic.BadRequestError``
          (not retried by the SDK).
        * ``enforced`` / ``contract``: HTTP 429 ``rate_limit_error`` with
          ``error.details.error_code`` = ``enforced_spend_limit_reached`` /
          ``contract_spend_limit_reached`` -> ``anthropic.types.shared.EnforcedSpendLimitReachedError``
          / ``ContractSpendLimitReachedError`` (subclasses of ``anthropic.RateLimitError``; being
          429s they ARE retried by the SDK unless ``x-should-retry: false``, which is not sent).
        """
        date = _first_of_next_month()
        if kind == "workspace":
            self.fail_next(n, 400, message=WORKSPACE_SPEND_LIMIT_MESSAGE.format(date=date), endpoint=endpoint)
        elif kind == "enforced":
            self.fail_next(n, 429, message=_ENFORCED_SPEND_LIMIT_MESSAGE.format(date=date),
                           details={"error_code": "enforced_spend_limit_reached"}, endpoint=endpoint)
        elif kind == "contract":
            self.fail_next(n, 429, message=_CONTRACT_SPEND_LIMIT_MESSAGE,
                           details={"error_code": "contract_spend_limit_reached"}, endpoint=endpoint)
        else:
            raise ValueError(f"unknown spend-limit kind {kind!r}")

    def refuse_next(self, n: int, *, text: str = "") -> None:
        """Next ``n`` messages: 200 with ``stop_reason="refusal"`` and ``stop_details`` set.

        Content is empty by default (``content=[]``); with ``text`` it is one text block (note
        that ``messages.parse()`` then raises pydantic ``ValidationError`` on non-JSON text).
        """
        with self._lock:
            self._faults.extend(_Fault(kind="refusal", text=text) for _ in range(n))

    def truncate_next(self, n: int) -> None:
        """Next ``n`` messages: 200 with ``stop_reason="max_tokens"``, text cut mid-JSON,
        ``output_tokens == max_tokens``."""
        with self._lock:
            self._faults.extend(_Fault(kind="truncate") for _ in range(n))

    def malformed_next(self, n: int, *, mode: Literal["json", "schema"] = "json") -> None:
        """Next ``n`` messages: 200 ``end_turn`` whose text is not valid JSON (``mode="json"``:
        prose before a JSON object missing its closing brace) or valid JSON that violates the
        requested schema (``mode="schema"``: a required property removed / wrong type)."""
        with self._lock:
            self._faults.extend(_Fault(kind="malformed", mode=mode) for _ in range(n))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # ---- batch knobs --------------------------------------------------------------------------

    def set_batch_item_outcome(
        self,
        custom_id: str,
        outcome: Literal["succeeded", "errored", "expired", "canceled", "refusal", "max_tokens", "malformed"],
        *,
        error_type: str = "api_error",
        message: str | None = None,
    ) -> None:
        """Force the result of every batch item with this ``custom_id`` (in any batch)."""
        with self._lock:
            self._batch_outcomes[custom_id] = {"outcome": outcome, "error_type": error_type, "message": message}

    def error_batch_items(self, *custom_ids: str, error_type: str = "api_error", message: str | None = None) -> None:
        for cid in custom_ids:
            self.set_batch_item_outcome(cid, "errored", error_type=error_type, message=message)

    def expire_batch_items(self, *custom_ids: str) -> None:
        for cid in custom_ids:
            self.set_batch_item_outcome(cid, "expired")

    def end_batches(self, batch_id: str | None = None) -> None:
        """Finish processing now (all batches, or one)."""
        with self._lock:
            targets = [self._batches[batch_id]] if batch_id else list(self._batches.values())
            for batch in targets:
                if batch.processing_status != "ended":
                    batch.processing_delay = 0.0
                    batch.created_mono = min(batch.created_mono, time.monotonic())
        for batch in targets:
            self._refresh_batch(batch)

    def batch_ids(self) -> list[str]:
        with self._lock:
            return list(self._batches)

    # ---- app -----------------------------------------------------------------------------------

    def _make_app(self) -> Starlette:
        routes = [
            Route("/v1/messages", self._wrap("messages", self._h_messages), methods=["POST"]),
            Route("/v1/messages/count_tokens", self._wrap("count_tokens", self._h_count_tokens), methods=["POST"]),
            Route("/v1/messages/batches", self._wrap("batches", self._h_batch_create), methods=["POST"]),
            Route("/v1/messages/batches", self._wrap("batches", self._h_batch_list), methods=["GET"]),
            Route("/v1/messages/batches/{batch_id}", self._wrap("batches", self._h_batch_get), methods=["GET"]),
            Route("/v1/messages/batches/{batch_id}", self._wrap("batches", self._h_batch_delete), methods=["DELETE"]),
            Route("/v1/messages/batches/{batch_id}/cancel", self._wrap("batches", self._h_batch_cancel), methods=["POST"]),
            Route("/v1/messages/batches/{batch_id}/results", self._wrap("batches", self._h_batch_results), methods=["GET"]),
            Route("/v1/models", self._wrap("models", self._h_models), methods=["GET"]),
            Route("/v1/models/{model_id:path}", self._wrap("models", self._h_model_get), methods=["GET"]),
            # control endpoints for out-of-process use (no auth, not counted in stats)
            Route("/_fake/stats", self._h_admin_stats, methods=["GET"]),
            Route("/_fake/control", self._h_admin_control, methods=["POST"]),
            Route("/{rest:path}", self._wrap("other", self._h_not_found), methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        ]

        async def http_error(request: Request, exc: Exception) -> Response:
            status = getattr(exc, "status_code", 500)
            return self._error_response(status, "Method not allowed" if status == 405 else str(getattr(exc, "detail", "Error")))

        return Starlette(routes=routes, exception_handlers={HTTPException: http_error})

    def _error_response(
        self, status: int, message: str | None = None, *, error_type: str | None = None,
        headers: dict[str, str] | None = None, details: dict[str, Any] | None = None, raw_body: str | None = None,
    ) -> Response:
        request_id = _rand_id("req_")
        out_headers = {"request-id": request_id, **(headers or {})}
        if raw_body is not None:
            return Response(raw_body, status_code=status, headers=out_headers, media_type="application/json")
        etype = error_type or ERROR_TYPES.get(status, "api_error")
        body = {
            "type": "error",
            "error": {"type": etype, "message": message or _DEFAULT_ERROR_MESSAGES.get(etype, "Error"), "details": details},
            "request_id": request_id,
        }
        return JSONResponse(body, status_code=status, headers=out_headers)

    def _record(self, call: dict[str, Any]) -> None:
        if not self.record_requests:
            return
        with self._lock:
            self.calls.append(call)
            if call["body"] is not None:
                self.requests.append(call["body"])

    def _wrap(self, endpoint: str, handler: Callable[..., Any]) -> Callable[[Request], Any]:
        async def endpoint_fn(request: Request) -> Response:
            raw = await request.body() if request.method in ("POST", "PUT", "PATCH") else b""
            body: Any = None
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
            call = {
                "method": request.method, "path": request.url.path, "endpoint": endpoint, "status": None,
                "headers": {k: v for k, v in request.headers.items() if k.lower() not in ("x-api-key", "authorization")},
                "body": body,
            }
            self._record(call)
            tracked = endpoint == "messages"
            with self._lock:
                self._stats.requests += 1
                self._stats.by_endpoint[endpoint] += 1
                if tracked:
                    self._stats.in_flight += 1
                    self._stats.max_in_flight = max(self._stats.max_in_flight, self._stats.in_flight)
            try:
                response = await self._pre_checks(request, endpoint, raw)
                if response is None:
                    try:
                        response = await handler(request, raw, body)
                    except FakeAPIError as exc:
                        response = self._error_response(exc.status, exc.message, error_type=exc.error_type, headers=exc.headers, details=exc.details)
                    except Exception as exc:  # surface bugs in the fake / responder as api_error
                        response = self._error_response(500, f"fake server error: {type(exc).__name__}: {exc}")
            finally:
                if tracked:
                    with self._lock:
                        self._stats.in_flight -= 1
            with self._lock:
                call["status"] = response.status_code
                self._stats.by_status[response.status_code] += 1
            return response

        return endpoint_fn

    async def _pre_checks(self, request: Request, endpoint: str, raw: bytes) -> Response | None:
        api_key = request.headers.get("x-api-key")
        auth = request.headers.get("authorization", "")
        bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        key = api_key if api_key is not None else bearer
        if not key:
            return self._error_response(401, "x-api-key header is required")
        if key in self.invalid_api_keys:
            return self._error_response(401, "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return self._error_response(400, "anthropic-version: header is required")
        limit = _MAX_BATCH_BODY_BYTES if endpoint == "batches" else _MAX_BODY_BYTES
        if len(raw) > limit:
            return self._error_response(413, f"Request exceeds the maximum allowed number of bytes ({limit}).")
        fault = self._take_fault(endpoint, ("error",))
        if fault is not None:
            return self._error_response(
                fault.status, fault.message, error_type=fault.error_type, headers=fault.headers,
                details=fault.details, raw_body=fault.body,
            )
        return None

    def _take_fault(self, endpoint: str, kinds: tuple[str, ...]) -> _Fault | None:
        """Pop the first queued fault for this endpoint if it is of one of ``kinds``."""
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault.endpoint in (endpoint, "any") and (fault.kind == "error" or endpoint == "messages"):
                    if fault.kind in kinds:
                        del self._faults[i]
                        self._stats.faults_injected += 1
                        return fault
                    return None
        return None

    # ---- generation ------------------------------------------------------------------------------

    def _respond(self, body: dict[str, Any]) -> FakeReply:
        responder = self.responder or default_responder
        result = responder(body)
        if isinstance(result, FakeReply):
            return result
        if isinstance(result, str):
            return FakeReply(text=result)
        if isinstance(result, (dict, list)):
            return FakeReply(text=json.dumps(result, ensure_ascii=False))
        raise TypeError(f"responder returned {type(result).__name__}; expected str, dict, list or FakeReply")

    def _generate(self, body: dict[str, Any], fault: _Fault | None, *, service_tier: str) -> dict[str, Any]:
        max_tokens = int(body["max_tokens"])
        stop_details = None
        stop_sequence = None
        if fault is not None and fault.kind == "refusal":
            content = [{"type": "text", "text": fault.text, "citations": None}] if fault.text else []
            text = fault.text or ""
            stop_reason = "refusal"
            stop_details = {"type": "refusal", "category": None, "explanation": "The request was declined (fake refusal)."}
            output_tokens = max(1, estimate_tokens(text))
        else:
            reply = self._respond(body)
            text = reply.text if reply.text is not None else ""
            explicit_stop = reply.stop_reason is not None
            stop_reason = reply.stop_reason or "end_turn"
            stop_details, stop_sequence = reply.stop_details, reply.stop_sequence
            if fault is not None and fault.kind == "truncate":
                text = text[: max(1, len(text) // 2)]
                stop_reason = "max_tokens"
                explicit_stop = True
            elif fault is not None and fault.kind == "malformed":
                text = self._malform(text, body, fault.mode)
            if reply.content is not None:
                content = reply.content
                text = "".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
            else:
                if not explicit_stop and estimate_tokens(text) > max_tokens:
                    text = text[: max_tokens * 4]
                    stop_reason = "max_tokens"
                content = [{"type": "text", "text": text, "citations": None}] if (text or max_tokens > 0) else []
            if reply.output_tokens is not None:
                output_tokens = reply.output_tokens
            elif stop_reason == "max_tokens":
                output_tokens = max_tokens
            else:
                output_tokens = max(1, estimate_tokens(text)) if max_tokens > 0 else 0
        total, read, creation, c5m, c1h = self._cache.account(str(body["model"]), _prompt_segments(body), self.min_cacheable_tokens)
        usage = {
            "input_tokens": total - read - creation,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": creation,
            "cache_read_input_tokens": read,
            "cache_creation": {"ephemeral_5m_input_tokens": c5m, "ephemeral_1h_input_tokens": c1h},
            "server_tool_use": None,
            "service_tier": service_tier,
            "inference_geo": "global",
            "output_tokens_details": {"thinking_tokens": 0},
        }
        with self._lock:
            self._stats.input_tokens += usage["input_tokens"]
            self._stats.output_tokens += output_tokens
            self._stats.cache_creation_input_tokens += creation
            self._stats.cache_read_input_tokens += read
        return {
            "id": _rand_id("msg_"),
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": stop_sequence,
            "stop_details": stop_details,
            "usage": usage,
            "container": None,
        }

    @staticmethod
    def _malform(text: str, body: dict[str, Any], mode: str) -> str:
        if mode == "schema":
            try:
                value = json.loads(text)
            except ValueError:
                value = None
            schema = _output_schema(body) or {}
            if isinstance(value, dict) and value:
                required = [k for k in schema.get("required", []) if k in value] or list(value)
                value.pop(required[0])
                value["unexpected_field"] = "not in the schema"
                return json.dumps(value)
            return json.dumps({"unexpected_field": "not in the schema"})
        core = text.rstrip()
        if core.endswith("}") or core.endswith("]"):
            core = core[:-1]
        return "Sure! Here is the analysis you asked for:\n" + core

    # ---- handlers --------------------------------------------------------------------------------

    async def _h_messages(self, request: Request, raw: bytes, body: Any) -> Response:
        problem = validate_message_params(raw, strict_schemas=self.strict_schemas)
        if problem is not None:
            return self._error_response(problem[0], problem[1])
        fault = self._take_fault("messages", ("refusal", "truncate", "malformed"))
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        message = self._generate(body, fault, service_tier="standard")
        with self._lock:
            self._stats.messages_ok += 1
        return JSONResponse(message, headers={"request-id": _rand_id("req_")})

    async def _h_count_tokens(self, request: Request, raw: bytes, body: Any) -> Response:
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not isinstance(body.get("model"), str):
            return self._error_response(400, "messages, model: Field required")
        total = sum(estimate_tokens(text) for _, text, _ in _prompt_segments(body))
        return JSONResponse({"input_tokens": total}, headers={"request-id": _rand_id("req_")})

    def _batch_json(self, batch: _Batch) -> dict[str, Any]:
        ended = batch.processing_status == "ended"
        counts = batch.counts if ended else {"processing": len(batch.requests), "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": batch.processing_status,
            "request_counts": dict(counts),
            "created_at": _rfc3339(batch.created_at),
            "expires_at": _rfc3339(batch.created_at + timedelta(hours=24)),
            "ended_at": _rfc3339(batch.ended_at),
            "cancel_initiated_at": _rfc3339(batch.cancel_initiated_at),
            "archived_at": None,
            "results_url": f"{self.base_url}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    async def _h_batch_create(self, request: Request, raw: bytes, body: Any) -> Response:
        if not isinstance(body, dict):
            return self._error_response(400, "body: Input should be a valid dictionary")
        extra = sorted(set(body) - {"requests"})
        if extra:
            return self._error_response(400, f"{extra[0]}: Extra inputs are not permitted")
        items = body.get("requests")
        if not isinstance(items, list):
            return self._error_response(400, "requests: Field required" if items is None else "requests: Input should be a valid list")
        if not items:
            return self._error_response(400, "requests: List should have at least 1 item after validation, not 0")
        if len(items) > 100_000:
            return self._error_response(400, "requests: List should have at most 100000 items")
        seen: set[str] = set()
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                return self._error_response(400, f"requests.{i}: Input should be a valid dictionary")
            for key in ("custom_id", "params"):
                if key not in item:
                    return self._error_response(400, f"requests.{i}.{key}: Field required")
            unknown = sorted(set(item) - {"custom_id", "params"})
            if unknown:
                return self._error_response(400, f"requests.{i}.{unknown[0]}: Extra inputs are not permitted")
            cid = item["custom_id"]
            if not isinstance(cid, str) or not _CUSTOM_ID_RE.match(cid):
                return self._error_response(400, f"requests.{i}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'")
            if cid in seen:
                return self._error_response(400, f"requests.{i}.custom_id: Duplicate custom_id '{cid}'; custom_id values must be unique within a batch")
            seen.add(cid)
            if not isinstance(item["params"], dict):
                return self._error_response(400, f"requests.{i}.params: Input should be a valid dictionary")
            if item["params"].get("stream") is True:
                return self._error_response(400, f"requests.{i}.params.stream: streaming is not supported in Message Batches")
        batch = _Batch(
            id=_rand_id("msgbatch_"), requests=copy.deepcopy(items), created_at=_now(),
            created_mono=time.monotonic(), processing_delay=max(0.0, float(self.batch_processing_delay)),
        )
        with self._lock:
            self._batches[batch.id] = batch
            self._stats.batches_created += 1
        self._refresh_batch(batch)
        return JSONResponse(self._batch_json(batch), headers={"request-id": _rand_id("req_")})

    def _get_batch(self, batch_id: str) -> _Batch:
        with self._lock:
            batch = self._batches.get(batch_id)
        if batch is None:
            raise FakeAPIError(404, f"message_batch not found: {batch_id}")
        self._refresh_batch(batch)
        return batch

    def _refresh_batch(self, batch: _Batch) -> None:
        with self._lock:
            if batch.processing_status == "ended":
                return
            now = time.monotonic()
            done_at = batch.created_mono + batch.processing_delay
            if batch.processing_status == "canceling" or now >= done_at:
                self._finish_batch(batch, now)

    def _finish_batch(self, batch: _Batch, now: float) -> None:
        n = len(batch.requests)
        results = []
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        for i, item in enumerate(batch.requests):
            cid = item["custom_id"]
            finish = batch.created_mono + batch.processing_delay * (i + 1) / n
            forced = self._batch_outcomes.get(cid, {})
            outcome = forced.get("outcome", "succeeded")
            if batch.cancel_mono is not None and finish > batch.cancel_mono and outcome not in ("expired",):
                outcome = "canceled"
            if outcome in ("canceled", "expired"):
                result: dict[str, Any] = {"type": outcome}
            elif outcome == "errored":
                etype = forced.get("error_type") or "api_error"
                result = self._errored_result(etype, forced.get("message") or _DEFAULT_ERROR_MESSAGES.get(etype, "Error"))
            else:
                params = item["params"]
                problem = validate_message_params(params, strict_schemas=self.strict_schemas)
                if problem is not None:
                    result = self._errored_result(ERROR_TYPES.get(problem[0], "invalid_request_error"), problem[1])
                else:
                    fault = {"refusal": _Fault(kind="refusal"), "max_tokens": _Fault(kind="truncate"),
                             "malformed": _Fault(kind="malformed")}.get(outcome)
                    try:
                        result = {"type": "succeeded", "message": self._generate(params, fault, service_tier="batch")}
                    except FakeAPIError as exc:
                        result = self._errored_result(exc.error_type, exc.message, exc.details)
                    except Exception as exc:
                        result = self._errored_result("api_error", f"fake server error: {type(exc).__name__}: {exc}")
            counts[result["type"]] += 1
            results.append({"custom_id": cid, "result": result})
        if self.shuffle_batch_results:
            random.Random(batch.id).shuffle(results)
        batch.results = results
        batch.counts = counts
        batch.processing_status = "ended"
        batch.ended_at = _now()
        self._stats.batch_items_processed += n

    @staticmethod
    def _errored_result(error_type: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "type": "errored",
            "error": {
                "type": "error",
                "error": {"type": error_type, "message": message, "details": details},
                "request_id": _rand_id("req_"),
            },
        }

    async def _h_batch_get(self, request: Request, raw: bytes, body: Any) -> Response:
        batch = self._get_batch(request.path_params["batch_id"])
        return JSONResponse(self._batch_json(batch), headers={"request-id": _rand_id("req_")})

    async def _h_batch_list(self, request: Request, raw: bytes, body: Any) -> Response:
        params = request.query_params
        try:
            limit = int(params.get("limit", "20"))
        except ValueError:
            return self._error_response(400, "limit: Input should be a valid integer")
        if not 1 <= limit <= 1000:
            return self._error_response(400, "limit: Input should be between 1 and 1000")
        with self._lock:
            batches = list(reversed(list(self._batches.values())))  # newest first
        for batch in batches:
            self._refresh_batch(batch)
        ids = [b.id for b in batches]
        if params.get("after_id") in ids:
            batches = batches[ids.index(params["after_id"]) + 1:]
        elif params.get("before_id") in ids:
            batches = batches[: ids.index(params["before_id"])][-limit:]
        page = batches[:limit]
        data = [self._batch_json(b) for b in page]
        return JSONResponse({
            "data": data,
            "has_more": len(batches) > len(page),
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        })

    async def _h_batch_cancel(self, request: Request, raw: bytes, body: Any) -> Response:
        batch = self._get_batch(request.path_params["batch_id"])
        with self._lock:
            if batch.processing_status == "in_progress":
                batch.processing_status = "canceling"
                batch.cancel_initiated_at = _now()
                batch.cancel_mono = time.monotonic()
            snapshot = self._batch_json(batch)  # answer "canceling"; ends on the next read
        return JSONResponse(snapshot, headers={"request-id": _rand_id("req_")})

    async def _h_batch_delete(self, request: Request, raw: bytes, body: Any) -> Response:
        batch = self._get_batch(request.path_params["batch_id"])
        if batch.processing_status != "ended":
            return self._error_response(400, f"Message batch {batch.id} is still in progress and cannot be deleted; cancel it first.")
        with self._lock:
            self._batches.pop(batch.id, None)
        return JSONResponse({"id": batch.id, "type": "message_batch_deleted"})

    async def _h_batch_results(self, request: Request, raw: bytes, body: Any) -> Response:
        batch = self._get_batch(request.path_params["batch_id"])
        if batch.processing_status != "ended" or batch.results is None:
            return self._error_response(404, f"Results for message batch {batch.id} are not available yet (processing_status={batch.processing_status}).")
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in batch.results)
        return Response(lines, media_type="application/binary", headers={"request-id": _rand_id("req_")})

    @staticmethod
    def _model_json(model_id: str) -> dict[str, Any]:
        return {
            "type": "model", "id": model_id,
            "display_name": " ".join(p.capitalize() for p in model_id.split("-")),
            "created_at": "2026-01-01T00:00:00Z", "lifecycle": "active",
            "deprecated_at": None, "retires_at": None,
            "max_input_tokens": 200_000, "max_tokens": 64_000,
        }

    async def _h_models(self, request: Request, raw: bytes, body: Any) -> Response:
        data = [self._model_json(m) for m in _KNOWN_MODELS]
        return JSONResponse({"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]})

    async def _h_model_get(self, request: Request, raw: bytes, body: Any) -> Response:
        model_id = request.path_params["model_id"]
        if model_id not in _KNOWN_MODELS and not _MODEL_RE.match(model_id):
            return self._error_response(404, f"model: {model_id}")
        return JSONResponse(self._model_json(model_id))

    async def _h_not_found(self, request: Request, raw: bytes, body: Any) -> Response:
        return self._error_response(404, f"Not found: {request.method} {request.url.path}")

    # ---- out-of-process control ------------------------------------------------------------------

    async def _h_admin_stats(self, request: Request) -> Response:
        stats = self.stats
        data = {k: getattr(stats, k) for k in stats.__dataclass_fields__}
        data["by_status"] = {str(k): v for k, v in stats.by_status.items()}
        data["by_endpoint"] = dict(stats.by_endpoint)
        return JSONResponse(data)

    async def _h_admin_control(self, request: Request) -> Response:
        """``POST /_fake/control`` with any of ``{"latency": s, "batch_processing_delay": s,
        "min_cacheable_tokens": n, "reset": true, "fail_next": {fail_next kwargs incl. n, status},
        "refuse_next": n, "truncate_next": n, "malformed_next": n}``."""
        try:
            cmd = json.loads(await request.body() or b"{}")
            if cmd.get("reset"):
                self.reset()
            for attr in ("latency", "batch_processing_delay", "min_cacheable_tokens"):
                if attr in cmd:
                    setattr(self, attr, cmd[attr])
            if isinstance(cmd.get("fail_next"), dict):
                self.fail_next(**cmd["fail_next"])
            for name in ("refuse_next", "truncate_next", "malformed_next"):
                if cmd.get(name):
                    getattr(self, name)(int(cmd[name]))
        except (TypeError, ValueError) as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True, "base_url": self.base_url})


def main(argv: list[str] | None = None) -> None:
    """Run the fake standalone: ``python -m tests.fakes.fake_anthropic --port 8089 --latency 0.3``."""
    import argparse

    parser = argparse.ArgumentParser(description="Fake Anthropic API server")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--batch-processing-delay", type=float, default=0.0)
    parser.add_argument("--min-cacheable-tokens", type=int, default=1024)
    args = parser.parse_args(argv)
    fake = FakeAnthropic(
        latency=args.latency, port=args.port, batch_processing_delay=args.batch_processing_delay,
        min_cacheable_tokens=args.min_cacheable_tokens,
    ).start()
    print(f"ANTHROPIC_BASE_URL={fake.base_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
