"""The errors the fake answers with: ``error.type`` per HTTP status, the real API's messages, and
:class:`FakeAPIError` for custom responders."""

from __future__ import annotations

from typing import Any

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

DEFAULT_ERROR_MESSAGES: dict[str, str] = {
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
ENFORCED_SPEND_LIMIT_MESSAGE = (
    "Your organization has reached the monthly API usage limit of its usage tier. "
    "You will regain access on {date} at 00:00 UTC."
)
CONTRACT_SPEND_LIMIT_MESSAGE = "Your organization has reached the spend limit of its contract."


def default_message(error_type: str) -> str:
    return DEFAULT_ERROR_MESSAGES.get(error_type, "Error")


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
        self.message = message or default_message(self.error_type)
        self.headers = dict(headers or {})
        self.details = details
        super().__init__(f"{status} {self.error_type}: {self.message}")
