"""The FastAPI application: routes, websockets, static web pages, metrics; components built at start-up."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager, suppress
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from assistant import metrics
from assistant.admin.stats import refresh_metrics
from assistant.api import admin, agent_desk, auth, demo, health, left_messages, privacy, sessions
from assistant.api.hardening import (
    CorsByRoute,
    RequestInput,
    SecurityHeaders,
    invalid_request,
    require_metrics_access,
)
from assistant.chat import socket as chat_socket
from assistant.config import REPO_ROOT, Settings, get_settings
from assistant.handoff import socket as agent_socket
from assistant.heap import freeze_startup_heap
from assistant.limits import RateLimited
from assistant.privacy.log_redaction import install_log_redaction
from assistant.privacy.retention import retention_loop
from assistant.runtime import build_runtime
from assistant.security import check_secret_key, warm_dummy_password_hash

WEB_DIR = REPO_ROOT / "web"
log = logging.getLogger(__name__)


def log_personal_data_operations() -> None:
    """Erasures and retention runs are written to the server's log (INFO of `assistant.privacy`) whatever the
    root level: `serve` sets WARNING, and each worker process of several starts with no logging set up."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s:  %(message)s")  # no-op once configured
    logging.getLogger("assistant.privacy").setLevel(logging.INFO)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    install_log_redaction()
    log_personal_data_operations()
    # InsecureSecretKey: no app
    check_secret_key(settings.secret_key, settings.host, settings.demo_mode, settings.identity_secret)
    if settings.demo_mode:
        log.warning("DEMO MODE: anyone may sign in as any demo customer (GET /api/demo/customers, unsigned "
                    "POST /api/sessions); never expose this server")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await asyncio.to_thread(warm_dummy_password_hash)  # the first unknown e-mail costs what the others do
        app.state.runtime = await build_runtime(settings)
        if settings.gc_freeze_startup_heap:
            freeze_startup_heap()
        retention = asyncio.create_task(retention_loop(app.state.runtime.sessions, settings.retention_days,
                                                       settings.retention_interval_s))
        try:
            yield
        finally:
            retention.cancel()
            with suppress(asyncio.CancelledError):
                await retention
            await app.state.runtime.close()

    app = FastAPI(title="Shopassist", version="0.1.0", lifespan=lifespan)
    # innermost first: bounded, clean input, then security headers, then CORS by route (the widget embedded
    # on another shop's pages calls the shopper API from that origin; the staff API only from staff origins)
    app.add_middleware(RequestInput, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(CorsByRoute, shopper_origins=settings.cors_origins, staff_origins=settings.staff_cors_origins)

    app.add_exception_handler(RequestValidationError, invalid_request)

    @app.exception_handler(RateLimited)
    async def rate_limited(request: Request, exc: RateLimited) -> JSONResponse:
        metrics.RATE_LIMITED.labels(exc.what).inc()
        return JSONResponse({"detail": str(exc)}, status_code=429, headers={"Retry-After": exc.retry_after_header})

    app.include_router(sessions.router)
    app.include_router(privacy.shopper_router)
    if settings.demo_mode:
        app.include_router(demo.router)
    app.include_router(auth.router)
    app.include_router(chat_socket.router)
    app.include_router(admin.router)
    app.include_router(agent_desk.router)
    app.include_router(left_messages.router)
    app.include_router(agent_socket.router)
    app.include_router(health.router)

    @app.get("/metrics", dependencies=[Depends(require_metrics_access)])
    async def prometheus_metrics() -> Response:
        await refresh_metrics(app.state.runtime)  # the dashboard's figures, from SQL
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    _mount_web(app, WEB_DIR)
    return app


def server_options(settings: Settings) -> dict:
    """uvicorn options that enforce limits before the app sees a byte: a websocket frame over
    `max_frame_bytes` is closed with 1009 from its header, never buffered; the client address the limits
    count is X-Forwarded-For only from the proxies of `forwarded_allow_ips`."""
    return {"ws_max_size": settings.max_frame_bytes, "ws_per_message_deflate": settings.ws_compression,
            "proxy_headers": True, "forwarded_allow_ips": settings.forwarded_allow_ips}


def _mount_web(app: FastAPI, web: Path) -> None:
    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(web / "index.html")

    for sub in ("widget", "agent", "admin", "shop"):
        (web / sub).mkdir(parents=True, exist_ok=True)
        app.mount(f"/{sub}", StaticFiles(directory=web / sub, html=True), name=sub)
