"""Google's error shape: ``{"error": {"code", "message", "status"}}``."""

from __future__ import annotations

from typing import Any

STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class ApiError(Exception):
    """An answer in Google's error shape; ``field`` adds the BadRequest details Google gives
    for a body whose field holds a value of the wrong type."""

    def __init__(self, code: int, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def body(self) -> dict[str, Any]:
        status = STATUS.get(self.code, "UNKNOWN")
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": status}
        if self.field is not None:
            violation = {"field": self.field, "description": self.message}
            error["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [violation],
                }
            ]
        return {"error": error}


def invalid(message: str) -> ApiError:
    return ApiError(400, message)
