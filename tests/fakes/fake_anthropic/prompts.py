"""Reading a Messages request: its structured-output schema, the text of its last user message, the
part of a prompt that is "the data", and the prompt in cache order (for token counting)."""

from __future__ import annotations

import json
import re
from typing import Any

Segment = tuple[str, str, dict[str, Any] | None]  # (cache key text, text counted as tokens, cache_control)


def output_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    config = body.get("output_config")
    if isinstance(config, dict):
        fmt = config.get("format")
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), dict):
            return fmt["schema"]
    return None


def block_text(block: Any) -> str:
    if isinstance(block, str):
        return block
    if not isinstance(block, dict):
        return ""
    if block.get("type") == "text":
        return str(block.get("text", ""))
    if block.get("type") == "tool_result":
        content = block.get("content")
        if isinstance(content, list):
            return "\n".join(block_text(b) for b in content)
        return str(content or "")
    return ""


def last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "\n".join(t for t in (block_text(b) for b in content) if t)
    return ""


_TAG_RE = re.compile(r"<([A-Za-z][\w.-]*)(?:\s[^>]*)?>(.*?)</\1>", re.S)


def focus_text(text: str) -> str:
    """The part of a prompt that is "the data": the longest ``<tag>...</tag>`` body if any."""
    blocks = [m.group(2) for m in _TAG_RE.finditer(text)]
    if blocks:
        text = max(blocks, key=len)
    return re.sub(r"<[^>]+>", " ", text)


def split_sentences(text: str) -> list[str]:
    """Sentences/lines of ``text`` (verbatim), preferring prose over ``key: value`` lines."""
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    found = [p.strip() for p in parts if p and p.strip() and re.search(r"\w", p)]
    prose = [s for s in found if len(s.split()) >= 4 and not _METADATA_LINE.match(s)]
    return prose or found


_METADATA_LINE = re.compile(r"^[\w .#/-]{1,40}:\s*\S+(?:\s+\S+){0,2}$")


def prompt_segments(body: dict[str, Any]) -> list[Segment]:
    """The prompt in cache order as ``(cache_key_text, token_text, cache_control)`` segments.

    Order: output schema, tools, system, messages (the API renders tools -> system -> messages;
    the structured-output schema is counted as a leading part of the prompt).
    """
    segments: list[Segment] = []
    schema = output_schema(body)
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
                text = block_text(block) or json.dumps(rest, sort_keys=True)
                segments.append((f"{role}:" + json.dumps(rest, sort_keys=True), text, block.get("cache_control")))
    top = body.get("cache_control")
    if top and segments:
        key, text, own = segments[-1]
        segments[-1] = (key, text, own or top)
    return segments
