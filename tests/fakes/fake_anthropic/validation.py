"""Validating requests as the real API does: Messages bodies against the SDK's own param types (unknown
keys and wrong types rejected), structured-output schemas against the features the API supports,
Message Batches bodies, body sizes and model names."""

from __future__ import annotations

import copy
import json
import re
import threading
from typing import Any

import jsonschema

from .prompts import output_schema

_SAMPLING_PARAMS = ("temperature", "top_p", "top_k")
_HEADER_ONLY_PARAMS = {"user_profile_id": "anthropic-user-profile-id", "workspace_id": "anthropic-workspace-id"}
MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_BATCH_BODY_BYTES = 256 * 1024 * 1024
MAX_OUTPUT_TOKENS = 128_000
MAX_CACHE_BREAKPOINTS = 4
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
KNOWN_MODELS = (
    "claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5", "claude-opus-5", "claude-sonnet-5",
    "claude-opus-4-8", "claude-opus-4-7", "claude-opus-4-6", "claude-sonnet-4-6", "claude-haiku-4-5",
    "claude-opus-4-5", "claude-sonnet-4-5",
)
_MODEL_RE = re.compile(r"^claude-[a-z0-9][a-z0-9.@-]*$")


def is_known_model(model: str) -> bool:
    return model in KNOWN_MODELS or bool(_MODEL_RE.match(model))


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


def params_validator() -> Any:
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


def instance_validator(schema: dict[str, Any]) -> Any:
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
        params_validator().validate_json(b'{"body":' + raw_bytes + b"}", strict=True)
    except ValidationError as exc:
        return 400, _summarize_validation_errors(exc.errors())

    if not body["messages"]:
        return 400, "messages: List should have at least 1 item after validation, not 0"
    if body["max_tokens"] < 0:
        return 400, "max_tokens: Input should be greater than or equal to 0"
    if body["max_tokens"] > MAX_OUTPUT_TOKENS:
        return 400, f"max_tokens: {body['max_tokens']} > {MAX_OUTPUT_TOKENS}, which is the maximum allowed number of output tokens"
    model = body["model"]
    if not is_known_model(model):
        return 404, f"model: {model}"
    breakpoints = _count_cache_breakpoints(body)
    if breakpoints > MAX_CACHE_BREAKPOINTS:
        return 400, f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. Found {breakpoints}."
    schema = output_schema(body)
    if schema is not None and strict_schemas:
        problem = _schema_problem(schema)
        if problem:
            return 400, problem
    return None

def batch_problem(body: Any) -> str | None:
    """What is wrong with a ``POST /v1/messages/batches`` body (always a 400), or ``None``.

    The items' ``params`` are checked when the batch is processed: an invalid one makes its item errored.
    """
    if not isinstance(body, dict):
        return "body: Input should be a valid dictionary"
    extra = sorted(set(body) - {"requests"})
    if extra:
        return f"{extra[0]}: Extra inputs are not permitted"
    items = body.get("requests")
    if not isinstance(items, list):
        return "requests: Field required" if items is None else "requests: Input should be a valid list"
    if not items:
        return "requests: List should have at least 1 item after validation, not 0"
    if len(items) > 100_000:
        return "requests: List should have at most 100000 items"
    seen: set[str] = set()
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            return f"requests.{i}: Input should be a valid dictionary"
        for key in ("custom_id", "params"):
            if key not in item:
                return f"requests.{i}.{key}: Field required"
        unknown = sorted(set(item) - {"custom_id", "params"})
        if unknown:
            return f"requests.{i}.{unknown[0]}: Extra inputs are not permitted"
        cid = item["custom_id"]
        if not isinstance(cid, str) or not _CUSTOM_ID_RE.match(cid):
            return f"requests.{i}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
        if cid in seen:
            return f"requests.{i}.custom_id: Duplicate custom_id '{cid}'; custom_id values must be unique within a batch"
        seen.add(cid)
        if not isinstance(item["params"], dict):
            return f"requests.{i}.params: Input should be a valid dictionary"
        if item["params"].get("stream") is True:
            return f"requests.{i}.params.stream: streaming is not supported in Message Batches"
    return None
