"""Building a Messages answer: the content and stop reason from a reply (or an injected refusal,
truncation or malformed reply), ``max_tokens`` applied, the usage block and the message JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .faults import Fault, malform
from .responder import FakeReply
from .tokens import estimate_tokens
from .wire import rand_id


@dataclass
class Completion:
    content: list[dict[str, Any]]
    stop_reason: str
    stop_details: dict[str, Any] | None
    stop_sequence: str | None
    output_tokens: int


def refused(fault: Fault) -> Completion:
    """An injected refusal: empty content, or the fault's text."""
    text = fault.text or ""
    return Completion(
        content=[{"type": "text", "text": fault.text, "citations": None}] if fault.text else [],
        stop_reason="refusal",
        stop_details={"type": "refusal", "category": None, "explanation": "The request was declined (fake refusal)."},
        stop_sequence=None,
        output_tokens=max(1, estimate_tokens(text)),
    )


def completed(body: dict[str, Any], reply: FakeReply, fault: Fault | None) -> Completion:
    """The reply as the API would send it, with a truncation or malformed-reply fault applied, and cut
    at ``max_tokens`` unless the reply set its own stop reason."""
    max_tokens = int(body["max_tokens"])
    text = reply.text if reply.text is not None else ""
    explicit_stop = reply.stop_reason is not None
    stop_reason = reply.stop_reason or "end_turn"
    if fault is not None and fault.kind == "truncate":
        text = text[: max(1, len(text) // 2)]
        stop_reason = "max_tokens"
        explicit_stop = True
    elif fault is not None and fault.kind == "malformed":
        text = malform(text, body, fault.mode)
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
    return Completion(content, stop_reason, reply.stop_details, reply.stop_sequence, output_tokens)


def usage_json(input_tokens: int, output_tokens: int, cache_read: int, cache_creation: int,
               creation_5m: int, creation_1h: int, service_tier: str) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": cache_creation,
        "cache_read_input_tokens": cache_read,
        "cache_creation": {"ephemeral_5m_input_tokens": creation_5m, "ephemeral_1h_input_tokens": creation_1h},
        "server_tool_use": None,
        "service_tier": service_tier,
        "inference_geo": "global",
        "output_tokens_details": {"thinking_tokens": 0},
    }


def message_json(body: dict[str, Any], completion: Completion, usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": rand_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": completion.content,
        "stop_reason": completion.stop_reason,
        "stop_sequence": completion.stop_sequence,
        "stop_details": completion.stop_details,
        "usage": usage,
        "container": None,
    }
