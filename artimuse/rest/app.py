"""The REST service: `create_app()` builds it, `main()` serves it (demo_api.py, `artimuse api`).

    GET  /health          liveness, whether the model is loaded (open even with an API key)
    GET  /meta            dimensions (7 scored aspects), aspects (8 commented), device, dtype,
                          checkpoint name, version, limits
    POST /infer           scores + comments (the original demo's answer, behaviour §9, plus extras)
    POST /score           total + 7 aspect scores + distribution, no comments (fast)
    POST /infer/stream    newline-delimited JSON events: scores, comment deltas, done
    POST /score/batch     up to ARTIMUSE_MAX_BATCH files in one request
    GET  /docs, /redoc    the API's documentation, served with its own assets (no CDN: works
                          offline, from fastapi-offline); GET / redirects to /docs

With ARTIMUSE_API_KEY set, every path but /health (the docs included) needs
`Authorization: Bearer <key>`, and only then does the OpenAPI document declare it. Web pages of
other origins are refused unless ARTIMUSE_CORS_ORIGINS allows them. The model loads in
`lifespan`, never at import. Every model request is admitted before its body is read
(`rest.gate` over `inference.admission`: a global cap, 503, and a cap per client, 429), then
runs on one model thread (`inference.work_queue`); `/score` and `/score/batch` share one
batcher (`inference.batcher`); uploads are decoded once, on a thread of their own
(`rest.uploads`, with the upload checks). Key and origins: `rest.auth`; refusals, declared and
written: `rest.refusals`; connection limits: `rest.connections`; answer models:
`artimuse.serialization` and `rest.answers`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import RedirectResponse
from fastapi_offline import FastAPIOffline

from artimuse import __version__
from artimuse.api import ArtiMuse, check_memory, load
from artimuse.config import (
    API_PORT,
    REST_VARIABLES,
    ServiceSettings,
    check_variables,
    environment_help,
    listen_options,
    model_options,
    settings_from_args,
)
from artimuse.devices import resolve_device, resolve_dtype
from artimuse.errors import ArtiMuseError
from artimuse.inference.admission import Admission
from artimuse.inference.batcher import ScoreBatcher
from artimuse.inference.work_queue import WorkQueue
from artimuse.loading.checkpoint import resolve_checkpoint
from artimuse.rest.answers import HealthAnswer
from artimuse.rest.auth import BEARER, ApiKeyMiddleware, OriginGuard, is_loopback
from artimuse.rest.connections import (
    BodyTimeout,
    limit_logging,
    raise_open_file_limit,
    server_options,
)
from artimuse.rest.gate import AdmissionGate
from artimuse.rest.refusals import add_error_handlers, responses, stream_schemas
from artimuse.rest.routes import api_router, health
from artimuse.rest.uploads import BodySizeLimit, Decoder
from artimuse.startup import check_listen, exit_with

log = logging.getLogger(__name__)


def create_app(
    model: ArtiMuse | None = None, settings: ServiceSettings | None = None, load_model: bool = True
) -> FastAPI:
    """The service; with `model=None` it loads `settings.model` when it starts (lifespan), unless
    `load_model=False` (a Serve replica whose model failed: it answers 503 until replaced)."""
    settings = settings or ServiceSettings.from_env()
    app = FastAPIOffline(
        title="ArtiMuse",
        version=__version__,
        summary="Image aesthetics: a 0-100 score, seven aspect scores and expert comments.",
        lifespan=_lifespan,
        generate_unique_id_function=lambda route: route.name,  # operation ids: score, infer ...
    )
    state = app.state
    state.settings, state.model, state.load_model = settings, model, load_model
    state.admission = state.queue = state.decoder = state.batcher = None  # made in lifespan
    app.get("/health", tags=["service"], response_model=HealthAnswer,
            responses=responses("health", False))(health)
    app.get("/", include_in_schema=False)(lambda: RedirectResponse("/docs"))
    keyed = [Depends(BEARER)] if settings.api_key else []  # declared only when it is asked for
    app.include_router(api_router(settings), dependencies=keyed)
    add_error_handlers(app)
    app.openapi = lambda: _document(app)
    # Added last = runs first: origin, then CORS (preflights need no key), key, admission, size,
    # time; all before any body is read.
    app.add_middleware(BodyTimeout, seconds=settings.connections.body_timeout)
    app.add_middleware(BodySizeLimit, limits=settings.limits)
    app.add_middleware(AdmissionGate)
    if settings.api_key:
        app.add_middleware(ApiKeyMiddleware, key=settings.api_key)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["Retry-After", "X-Replica"],
        )
    app.add_middleware(OriginGuard, allowed=settings.cors_origins)
    return app


def _document(app: FastAPI) -> dict:
    """FastAPI's OpenAPI document plus the stream's event schemas (a StreamingResponse has no
    response_model to take them from); built once."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes
        )
        document.setdefault("components", {}).setdefault("schemas", {}).update(stream_schemas())
        app.openapi_schema = document
    return app.openapi_schema


@asynccontextmanager
async def _lifespan(app: FastAPI):
    state = app.state
    loaded_here = state.model is None and state.load_model
    if loaded_here:
        s = state.settings.model
        log.info("loading %s", s.ckpt)
        started = time.perf_counter()
        state.model = await asyncio.to_thread(load, s.ckpt, **s.load_options())
        log.info("ready: %s loaded and its weights read in %.1f s", s.ckpt,
                 time.perf_counter() - started)
    settings: ServiceSettings = state.settings
    state.admission = Admission(settings.queue_size, settings.client_jobs)
    state.queue, state.decoder = WorkQueue(), Decoder()
    state.batcher = ScoreBatcher(lambda batch: state.model.score_prepared(batch),
                                 settings.score_batch)
    try:
        yield
    finally:
        state.queue.shutdown()
        state.decoder.shutdown()
        if loaded_here:
            state.model = None


def warn_if_open(host: str, settings: ServiceSettings) -> None:
    """Say so at start-up when the service is reachable from other machines with no key."""
    if not settings.api_key and not is_loopback(host):
        log.warning(
            "listening on %s without ARTIMUSE_API_KEY: anyone who can reach this port can use "
            "the model; set ARTIMUSE_API_KEY, or HOST=127.0.0.1 behind a reverse proxy",
            host,
        )


# --- command line ---------------------------------------------------------------------------


def main(argv: list[str] | None = None, prog: str = "artimuse api") -> None:
    """`python demo_api.py [--host H] [--port P]`; the model comes from ARTIMUSE_* or flags."""
    import uvicorn

    try:  # fail here with one line, not in the server's start-up with a trace
        check_variables(REST_VARIABLES)  # all of them, before the parser reads HOST and PORT
        args = _parser(prog).parse_args(argv)
        check_listen(args.host, args.port)
        model = settings_from_args(args)
        device = resolve_device(model.device)
        check_memory(resolve_checkpoint(model.ckpt), device, resolve_dtype(model.dtype, device),
                     model.quant)
        settings = ServiceSettings.from_env(model=model)
    except ArtiMuseError as error:
        raise SystemExit(exit_with(prog, error)) from None
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    config = uvicorn.Config(
        create_app(settings=settings),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        **server_options(settings.connections),
    )
    limit_logging()  # after uvicorn.Config, which sets up its loggers
    warn_if_open(args.host, settings)
    raise_open_file_limit(settings.connections.max_connections + 256)
    uvicorn.Server(config).run()


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Serve ArtiMuse over HTTP (OpenAPI docs at /docs). Connection limits: past "
            "ARTIMUSE_MAX_CONNECTIONS open connections requests get 503; request headers must "
            "arrive within ARTIMUSE_HEADER_TIMEOUT s, a body may stall at most "
            "ARTIMUSE_BODY_TIMEOUT s (408); idle keep-alive connections close after "
            "ARTIMUSE_KEEP_ALIVE s; repeated log messages are rate-limited. For public hosting "
            "put a reverse proxy (nginx, Caddy, a load balancer) in front and set "
            "ARTIMUSE_API_KEY."
        ),
        epilog=environment_help(REST_VARIABLES),
        parents=[model_options(), listen_options(API_PORT)],
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"],
                        help="server log level (default info)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser
