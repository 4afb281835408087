"""The REST service on Ray Serve: `artimuse serve --replicas N`.

Each replica holds its own model (one GPU when the cluster has GPUs) and serves the app of
`artimuse.rest.app.create_app`, so routes, auth, limits and messages are the one-process
service's. Two differences: `/score` requests that arrive together are batched by Serve's
`@serve.batch` (a few ms of waiting at most) in place of the service's own batcher, and every
response names the replica that answered in an `X-Replica` header.
"""

from __future__ import annotations

import argparse
import logging
import threading
from dataclasses import replace

from artimuse.config import ServiceSettings, Settings
from artimuse.distributed.cluster import (
    Workers,
    checkpoint_for_workers,
    ray_session,
    require_ray,
    resolve_on_node,
    size_workers,
)
from artimuse.errors import ItemFailed
from artimuse.images import ImageError, PreparedImage
from artimuse.rest.app import create_app
from artimuse.rest.routes import get_scorer
from artimuse.results import Scores

serve = require_ray("serve").serve  # RayNotInstalled, with the pip command, if it is not there
log = logging.getLogger(__name__)
APP_NAME = "artimuse"
MAX_BATCH = 8  # /score requests in one engine call
BATCH_WAIT_S = 0.005  # how long the first request of a batch waits for company


class BatchedScorer:
    """`/score` of a replica: requests that arrive together share one job on its work queue."""

    def __init__(self, app):
        self.state = app.state  # the model and the queue the app's lifespan made

    @serve.batch(max_batch_size=MAX_BATCH, batch_wait_timeout_s=BATCH_WAIT_S)
    async def _score(self, uploads: list[PreparedImage]) -> list[Scores | ImageError]:
        model, queue = self.state.model, self.state.queue
        return await queue.run(lambda: model.score_prepared(uploads, aspects=True))

    async def __call__(self, upload: PreparedImage) -> Scores:
        result = await self._score(upload)
        if isinstance(result, ItemFailed):  # logged where it happened; the app answers 500
            raise RuntimeError(str(result))
        if isinstance(result, ImageError):
            raise result
        return result


class ReplicaHeader:
    """ASGI middleware: `X-Replica: <replica id>` on every response, refusals included."""

    def __init__(self, app, replica: str):
        self.app, self.replica = app, replica.encode()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_named(message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"x-replica", self.replica)]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_named)


@serve.deployment
@serve.ingress()  # the app is built in each replica, around its own model
class ArtiMuseReplica:
    def __init__(self, settings: ServiceSettings, threads: int):
        import torch

        from artimuse.api import load

        torch.set_num_threads(threads)
        model = settings.model
        path = resolve_on_node(model.ckpt)
        self.model = load(str(path), model.device, model.dtype, model.max_new_tokens,
                          quant=model.quant, compile=model.compile)
        self.settings = settings
        self.replica = serve.get_replica_context().replica_id.unique_id
        log.info("replica %s: %s on %s", self.replica, path, self.model.device)

    def __serve_build_asgi_app__(self):
        app = create_app(self.model, self.settings)
        scorer = BatchedScorer(app)
        app.dependency_overrides[get_scorer] = lambda: scorer
        app.add_middleware(ReplicaHeader, replica=self.replica)  # outermost: sees every answer
        return app


def deploy(
    settings: ServiceSettings, workers: Workers, host: str = "127.0.0.1", port: int = 8000
) -> None:
    """Start Serve's HTTP proxy on host:port and `workers.count` replicas; returns once they
    answer. Each replica admits `settings.queue_size` requests, as the one-process service."""
    ckpt = checkpoint_for_workers(settings.model.ckpt)
    settings = replace(settings, model=replace(settings.model, ckpt=ckpt))
    replicas = ArtiMuseReplica.options(
        num_replicas=workers.count,
        ray_actor_options=workers.options(),
        max_ongoing_requests=settings.queue_size,
    )
    app = replicas.bind(settings, workers.threads)
    serve.start(http_options={"host": host, "port": port})
    serve.run(app, name=APP_NAME, route_prefix="/")


def main(args: argparse.Namespace, model: Settings) -> int:
    """`artimuse serve`: deploy, then serve until Ctrl-C (which stops Serve)."""
    logging.basicConfig(level="INFO", format="%(levelname)s %(name)s: %(message)s")
    model = replace(model, ckpt=checkpoint_for_workers(model.ckpt))  # fails now, before Ray
    settings = ServiceSettings.from_env(model=model)
    with ray_session(args.address):
        try:
            workers = size_workers(args.replicas)
            deploy(settings, workers, args.host, args.port)
            log.info(
                "serving on http://%s:%d with %d replicas (%g CPUs, %g GPUs each); Ctrl-C stops",
                args.host,
                args.port,
                workers.count,
                workers.cpus,
                workers.gpus,
            )
            threading.Event().wait()
        finally:
            require_ray("serve").serve.shutdown()
    return 0
