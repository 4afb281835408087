"""The REST service: `create_app()` builds it, `main()` serves it (demo_api.py, `artimuse api`).

    GET  /health          liveness, whether the model is loaded (open even with an API key)
    GET  /meta            aspects, device, dtype, checkpoint name, version, limits
    POST /infer           scores + comments (the original demo's answer, behaviour §9, plus extras)
    POST /score           total + 7 aspect scores + distribution, no comments (fast)
    POST /infer/stream    newline-delimited JSON events: scores, comment deltas, done
    POST /score/batch     up to ARTIMUSE_MAX_BATCH files in one request
    GET  /docs, /redoc    the API's documentation, served with its own assets (no CDN: works
                          offline, from fastapi-offline); GET / redirects to /docs

With ARTIMUSE_API_KEY set, every path but /health (the docs included) needs
`Authorization: Bearer <key>`. The model loads in `lifespan`, never at import. All model work
runs on one worker thread behind a bounded queue (`rest.work_queue`); uploads are decoded once,
on a thread of their own (`rest.uploads`, with the upload checks); refusals and auth live in
`rest.auth`, connection limits in `rest.connections`, answer shapes in `artimuse.serialization`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.responses import RedirectResponse
from fastapi_offline import FastAPIOffline

from artimuse import __version__
from artimuse.api import ArtiMuse, check_memory, load
from artimuse.config import (
    API_PORT,
    ServiceSettings,
    environment_help,
    listen_address,
    model_options,
    settings_from_args,
)
from artimuse.devices import resolve_device, resolve_dtype
from artimuse.errors import ArtiMuseError
from artimuse.inference.batcher import ScoreBatcher
from artimuse.loading.checkpoint import resolve_checkpoint
from artimuse.rest.auth import ApiKeyMiddleware, add_error_handlers
from artimuse.rest.connections import (
    BodyTimeout,
    limit_logging,
    raise_open_file_limit,
    server_options,
)
from artimuse.rest.routes import BEARER, api_router, health
from artimuse.rest.uploads import (
    BodySizeLimit,
    Decoder,
)
from artimuse.rest.work_queue import WorkQueue

log = logging.getLogger(__name__)


def create_app(model: ArtiMuse | None = None, settings: ServiceSettings | None = None) -> FastAPI:
    """The service; with `model=None` it loads `settings.model` when it starts (lifespan)."""
    settings = settings or ServiceSettings.from_env()
    app = FastAPIOffline(
        title="ArtiMuse",
        version=__version__,
        summary="Image aesthetics: a 0-100 score, seven aspect scores and expert comments.",
        lifespan=_lifespan,
    )
    app.state.settings, app.state.model, app.state.queue = settings, model, None
    app.state.decoder = None
    app.state.batcher = None
    app.get("/health", tags=["service"])(health)
    app.get("/", include_in_schema=False)(lambda: RedirectResponse("/docs"))
    app.include_router(api_router(), dependencies=[Depends(BEARER)])
    add_error_handlers(app)
    # Added last = runs first: the key is checked before the size, both before any body read.
    app.add_middleware(BodyTimeout, seconds=settings.connections.body_timeout)
    app.add_middleware(BodySizeLimit, limits=settings.limits)
    if settings.api_key:
        app.add_middleware(ApiKeyMiddleware, key=settings.api_key)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI):
    state = app.state
    loaded_here = state.model is None
    if loaded_here:
        s = state.settings.model
        log.info("loading %s", s.ckpt)
        started = time.perf_counter()
        state.model = await asyncio.to_thread(load, s.ckpt, **s.load_options())
        log.info("ready: %s loaded and its weights read in %.1f s", s.ckpt,
                 time.perf_counter() - started)
    size = state.settings.queue_size
    state.queue, state.decoder = WorkQueue(size), Decoder(size)
    state.batcher = ScoreBatcher(lambda batch: state.model.score_prepared(batch),
                                 state.settings.score_batch)
    try:
        yield
    finally:
        state.queue.shutdown()
        state.decoder.shutdown()
        if loaded_here:
            state.model = None


# --- command line ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """`python demo_api.py [--host H] [--port P]`; the model comes from ARTIMUSE_* or flags."""
    import uvicorn

    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:  # fail here with one line, not in the server's start-up with a trace
        model = settings_from_args(args)
        device = resolve_device(model.device)
        check_memory(resolve_checkpoint(model.ckpt), device, resolve_dtype(model.dtype, device),
                     model.quant)
        settings = ServiceSettings.from_env(model=model)
    except ArtiMuseError as error:
        raise SystemExit(f"artimuse api: {error}") from None
    config = uvicorn.Config(
        create_app(settings=settings),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        **server_options(settings.connections),
    )
    limit_logging()  # after uvicorn.Config, which sets up its loggers
    raise_open_file_limit(settings.connections.max_connections + 256)
    uvicorn.Server(config).run()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="artimuse api",
        description=(
            "Serve ArtiMuse over HTTP (OpenAPI docs at /docs). Connection limits: past "
            "ARTIMUSE_MAX_CONNECTIONS open connections requests get 503; request headers must "
            "arrive within ARTIMUSE_HEADER_TIMEOUT s, a body may stall at most "
            "ARTIMUSE_BODY_TIMEOUT s (408); idle keep-alive connections close after "
            "ARTIMUSE_KEEP_ALIVE s; repeated log messages are rate-limited. For public hosting "
            "put a reverse proxy (nginx, Caddy, a load balancer) in front and set "
            "ARTIMUSE_API_KEY."
        ),
        epilog=environment_help(),
        parents=[model_options()],
    )
    host, port = listen_address(API_PORT)
    parser.add_argument("--host", "--listen", default=host, help="listen address (HOST)")
    parser.add_argument("--port", type=int, default=port, help="port (PORT)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    return parser
