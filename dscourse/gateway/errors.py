"""What can go wrong on a request's way through the gateway, each with the HTTP status that
Spring Cloud Gateway's default ``ErrorWebExceptionHandler`` gives it."""

from __future__ import annotations

from ..errors import DscourseError


class GatewayError(DscourseError):
    """An error a request meets in the gateway; ``status`` is the response the client sees."""

    status = 500
    reason = "Internal Server Error"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class NoRouteError(GatewayError):
    """No route's predicates all matched (``404 Not Found``)."""

    status, reason = 404, "Not Found"


class NoInstanceError(GatewayError):
    """``lb://service`` has no instance (``NotFoundException``: ``503 Service Unavailable``)."""

    status, reason = 503, "Service Unavailable"


class UpstreamError(GatewayError):
    """The upstream refused the connection or failed mid-request (``502 Bad Gateway`` here)."""

    status, reason = 502, "Bad Gateway"


class UpstreamTimeout(GatewayError):
    """No response within the response timeout (``504 Gateway Timeout``)."""

    status, reason = 504, "Gateway Timeout"


class CallNotPermitted(GatewayError):
    """The circuit breaker is open and no fallback is configured (``503 Service Unavailable``)."""

    status, reason = 503, "Service Unavailable"
