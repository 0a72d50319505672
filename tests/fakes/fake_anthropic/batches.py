"""The Message Batches API's batches: their state, how they end (every item's result, with forced
outcomes, cancellation and invalid params), and their JSON."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .errors import ERROR_TYPES, FakeAPIError
from .faults import Fault
from .validation import validate_message_params
from .wire import error_body, rand_id, rfc3339, utc_now

Generate = Callable[[dict[str, Any], Fault | None], dict[str, Any]]  # params, fault -> message JSON

@dataclass
class Batch:
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


def batch_json(batch: Batch, base_url: str) -> dict[str, Any]:
    ended = batch.processing_status == "ended"
    counts = batch.counts if ended else {"processing": len(batch.requests), "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    return {
        "id": batch.id,
        "type": "message_batch",
        "processing_status": batch.processing_status,
        "request_counts": dict(counts),
        "created_at": rfc3339(batch.created_at),
        "expires_at": rfc3339(batch.created_at + timedelta(hours=24)),
        "ended_at": rfc3339(batch.ended_at),
        "cancel_initiated_at": rfc3339(batch.cancel_initiated_at),
        "archived_at": None,
        "results_url": f"{base_url}/v1/messages/batches/{batch.id}/results" if ended else None,
    }


def finish(batch: Batch, outcomes: dict[str, dict[str, Any]], generate: Generate, *, strict_schemas: bool,
           shuffle: bool) -> None:
    """End the batch: every item's result, in the real API's (unordered) way when `shuffle`.

    `outcomes` forces the outcome of items by custom_id; items that would finish after a cancel are
    canceled; items with invalid params are errored.
    """
    n = len(batch.requests)
    results = []
    counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    for i, item in enumerate(batch.requests):
        cid = item["custom_id"]
        finish_at = batch.created_mono + batch.processing_delay * (i + 1) / n
        forced = outcomes.get(cid, {})
        outcome = forced.get("outcome", "succeeded")
        if batch.cancel_mono is not None and finish_at > batch.cancel_mono and outcome not in ("expired",):
            outcome = "canceled"
        if outcome in ("canceled", "expired"):
            result: dict[str, Any] = {"type": outcome}
        elif outcome == "errored":
            result = errored_result(forced.get("error_type") or "api_error", forced.get("message"))
        else:
            params = item["params"]
            problem = validate_message_params(params, strict_schemas=strict_schemas)
            if problem is not None:
                result = errored_result(ERROR_TYPES.get(problem[0], "invalid_request_error"), problem[1])
            else:
                fault = {"refusal": Fault(kind="refusal"), "max_tokens": Fault(kind="truncate"),
                         "malformed": Fault(kind="malformed")}.get(outcome)
                try:
                    result = {"type": "succeeded", "message": generate(params, fault)}
                except FakeAPIError as exc:
                    result = errored_result(exc.error_type, exc.message, exc.details)
                except Exception as exc:
                    result = errored_result("api_error", f"fake server error: {type(exc).__name__}: {exc}")
        counts[result["type"]] += 1
        results.append({"custom_id": cid, "result": result})
    if shuffle:
        random.Random(batch.id).shuffle(results)
    batch.results = results
    batch.counts = counts
    batch.processing_status = "ended"
    batch.ended_at = utc_now()


def errored_result(error_type: str, message: str | None, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "errored", "error": error_body(error_type, message, details, rand_id("req_"))}
