"""Replies: :class:`FakeReply` and what a custom responder may return, and the default responder,
which derives a deterministic, schema-valid JSON instance from the prompt (or, without a schema, a
short sentence about it)."""

from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from dataclasses import dataclass
from typing import Any

from .prompts import focus_text, last_user_text, output_schema, split_sentences
from .validation import instance_validator


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


def as_reply(result: Any) -> FakeReply:
    """What a responder returned, as a :class:`FakeReply`."""
    if isinstance(result, FakeReply):
        return result
    if isinstance(result, str):
        return FakeReply(text=result)
    if isinstance(result, (dict, list)):
        return FakeReply(text=json.dumps(result, ensure_ascii=False))
    raise TypeError(f"responder returned {type(result).__name__}; expected str, dict, list or FakeReply")


def _stable_int(*parts: Any) -> int:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8", "replace")).hexdigest()
    return int(digest[:12], 16)


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
        self.focus = focus_text(prompt)

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
        sentences = split_sentences(source) or split_sentences(self.focus) or ["No details provided."]
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
                    chunk = focus_text(self.prompt[starts[i]: starts[i + 1]])
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
    instance_validator(schema).validate(instance)
    return instance


def default_responder(body: dict[str, Any]) -> str:
    """The default reply text for a request body (see the package docstring)."""
    prompt = last_user_text(body)
    schema = output_schema(body)
    if schema is not None:
        return json.dumps(build_instance(schema, prompt), ensure_ascii=False)
    sentences = split_sentences(focus_text(prompt))
    return f"This is a fake reply about: {sentences[0][:160]}" if sentences else "This is a fake reply."
