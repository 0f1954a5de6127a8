"""HTTP hardening as ASGI middleware: bounded, clean request input, security headers, CORS by route; /metrics access.

Shopper routes and the widget's files are called from the shop's own pages (any configured origin);
the agent and admin API and pages are ours alone: no other origin may call them (CORS) or frame them.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from urllib.parse import unquote

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.chat.frames import normalise_strings

# the shopper side: the widget's script and styles, session start and transcript, the demo shop
SHOPPER_PATHS = ("/api/sessions", "/api/demo/", "/widget/")
# pages no other site may frame (clickjacking); the widget and the demo shop stay embeddable
UNFRAMEABLE_PATHS = ("/agent", "/admin", "/api/agent", "/api/admin")
# no inline script anywhere (web/*.html load their code from files); styles may be set from script
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'")


def _is_under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p.rstrip("/") or path.startswith(p.rstrip("/") + "/") for p in prefixes)


class RequestInput:
    """What reaches a route is bounded and clean: a body over `max_bytes` is refused with 413 (from
    Content-Length before the route runs, else as the chunks arrive); a URL with control characters is a
    400; every string of a JSON body is normalised like a socket frame's (no NUL or invisible characters
    reach the store).

    The rest of a refused body, up to another `max_bytes`, is read and dropped before the 413 goes out:
    closing a connection with unread bytes resets it, and a client still sending (most do, before they
    read) would see the reset instead of the 413. A body larger still is answered at once."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        too_large = f"request bodies are limited to {self.max_bytes} bytes"
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            if declared.isdigit() and int(declared) <= 2 * self.max_bytes:
                await _drop_body(receive, self.max_bytes * 2)
            return await _refuse(send, 413, too_large)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_bytes:  # a chunked body that grows past the limit
                if more:
                    await _drop_body(receive, self.max_bytes)
                return await _refuse(send, 413, too_large)
        body = b"".join(chunks)
        if _has_control_characters(scope):  # after reading the body: the connection stays usable
            return await _refuse(send, 400, "the URL holds control characters")
        if headers.get(b"content-type", b"").split(b";")[0].strip() == b"application/json":
            try:
                body = _normalised_json(body)
            except UnreadableJson as e:
                return await _refuse(send, 400, f"not JSON: {str(e)[:60]}")
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()  # only a disconnect can come now
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _drop_body(receive: Receive, budget: int) -> None:
    """Read the rest of a request body without keeping it, until it ends, the client leaves or `budget`
    bytes were read."""
    read = 0
    while read <= budget:
        message = await receive()
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            return
        read += len(message.get("body", b""))


def _has_control_characters(scope: Scope) -> bool:
    text = scope["path"] + unquote(scope.get("query_string", b"").decode("latin-1"))
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


class UnreadableJson(ValueError):
    """A JSON body no parser should be asked to read (a 400 at the edge)."""


class NonFiniteNumber(UnreadableJson):
    """NaN, Infinity or a number too large for a float: not JSON, and not serialisable in an answer."""


def _finite(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise NonFiniteNumber(f"the number {text[:30]} is not finite")
    return value


def _reject_constant(name: str) -> float:
    raise NonFiniteNumber(f"{name} is not a JSON number")


def _normalised_json(body: bytes) -> bytes:
    """The body with its strings normalised, or as it came when it is not JSON (the route says why).
    NonFiniteNumber for NaN or infinite numbers (a validation error echoing one could not be sent)."""
    try:
        data = json.loads(body, parse_float=_finite, parse_constant=_reject_constant)
    except NonFiniteNumber:
        raise
    except RecursionError as e:  # `[[[[...` thousands deep: the route's own parser would fail the same way
        raise UnreadableJson("nested too deeply") from e
    except ValueError:
        return body
    try:
        cleaned = normalise_strings(data)
        # untouched bodies pass as they came: an FAQ import reports problems by the file's own line numbers
        return body if cleaned == data else json.dumps(cleaned).encode()
    except RecursionError as e:
        raise UnreadableJson("nested too deeply") from e


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 413:  # the rest of the body is not read: the connection cannot carry another request
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """CSP, nosniff and a referrer policy on every response; frame-ancestors 'none' on the staff side."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        csp = CONTENT_SECURITY_POLICY
        if _is_under(scope["path"], UNFRAMEABLE_PATHS):
            csp += "; frame-ancestors 'none'"
        extra = [(b"content-security-policy", csp.encode()), (b"x-content-type-options", b"nosniff"),
                 (b"referrer-policy", b"no-referrer")]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


class CorsByRoute:
    """CORS for `cors_origins` on the shopper routes, for `staff_cors_origins` (none by default) elsewhere."""

    def __init__(self, app: ASGIApp, shopper_origins: list[str], staff_origins: list[str]) -> None:
        self.app = app
        self.shopper = CORSMiddleware(app, allow_origins=shopper_origins, allow_methods=["*"], allow_headers=["*"])
        self.staff = CORSMiddleware(app, allow_origins=staff_origins, allow_methods=["*"], allow_headers=["*"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        chosen = self.shopper if _is_under(scope["path"], SHOPPER_PATHS) else self.staff
        await chosen(scope, receive, send)


def require_metrics_access(request: Request) -> None:
    """/metrics: the bearer token of `metrics_token`; with none configured, loopback callers only."""
    expected = request.app.state.runtime.settings.metrics_token
    if expected:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
            raise HTTPException(401, "a metrics bearer token is required", headers={"WWW-Authenticate": "Bearer"})
        return
    host = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise HTTPException(403, "metrics are served to loopback only (set SHOPASSIST_METRICS_TOKEN for others)")


async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 naming what is wrong where, without echoing the input (bytes or non-finite numbers in it
    could not be serialised, and a request's own content has no business in the answer)."""
    return JSONResponse({"detail": [{"type": e.get("type"), "loc": [str(p) for p in e.get("loc", ())],
                                     "msg": str(e.get("msg", ""))} for e in exc.errors()]}, status_code=422)
