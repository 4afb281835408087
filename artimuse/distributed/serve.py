"""The REST service on Ray Serve, for operators.

    artimuse serve --replicas 2 --ckpt DIR                     # our CLI: start Serve and wait
    serve run artimuse.distributed.serve:app ckpt=DIR replicas=2     # Serve's CLI, same options
    serve run serve.yaml / serve deploy serve.yaml / a KubeRay RayService   # a config file

`app(args)` is the application builder: `args` are the options of `artimuse serve` (the model
flags, `replicas`) spelled as keys, plus `min_replicas`/`max_replicas` for autoscaling and
`max_queued_requests`. A config file may override every deployment option (`autoscaling_config`,
`max_ongoing_requests`, `ray_actor_options`, health checks) in its `deployments:` section.

Each replica holds its own model (one GPU when the cluster has GPUs) and serves the app of
`artimuse.rest.app.create_app`: routes, auth, limits, admission, the score batcher and messages
are the one-process service's (there is no `@serve.batch`: one batcher, with its constants in
config.py, serves every front end). Serve sends a replica at most `max_ongoing_requests`
(= ARTIMUSE_QUEUE_SIZE, its admission's capacity) and holds at most `max_queued_requests` more at
its proxy; past that, 503 with Retry-After. `check_health` reports a replica whose model failed
to load or keeps failing, so Serve replaces it. Every response names its replica (`X-Replica`).
"""

from __future__ import annotations

import argparse
import logging
import threading
from dataclasses import replace

from artimuse.config import (
    SERVE_MAX_QUEUED,
    SERVE_RETRY_AFTER_S,
    SERVE_TARGET_ONGOING,
    ServiceSettings,
    Settings,
    model_options,
    ray_address,
    settings_from_args,
)
from artimuse.distributed.cluster import (
    Workers,
    checkpoint_for_workers,
    ray_session,
    require_ray,
    resolve_on_node,
    size_workers,
)
from artimuse.errors import InputError
from artimuse.rest.app import create_app

serve = require_ray("serve").serve  # RayNotInstalled, with the pip command, if it is not there
log = logging.getLogger(__name__)
APP_NAME = "artimuse"


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


@serve.deployment(
    max_queued_requests=SERVE_MAX_QUEUED,
    backpressure_config={"status_code": 503, "retry_after_s": SERVE_RETRY_AFTER_S},
)
@serve.ingress()  # the app is built in each replica, around its own model
class ArtiMuseReplica:
    def __init__(self, settings: ServiceSettings, threads: int):
        import torch

        from artimuse.api import load

        torch.set_num_threads(threads)
        self.settings, self.service, self.model, self.failure = settings, None, None, None
        self.replica = serve.get_replica_context().replica_id.unique_id
        model = settings.model
        try:  # a replica that cannot load its model stays up to say why (check_health)
            path = resolve_on_node(model.ckpt)
            self.model = load(str(path), **model.load_options())  # every model option
        except Exception as error:
            self.failure = f"the model failed to load: {type(error).__name__}: {error}"
            log.error("replica %s: %s", self.replica, self.failure)
        else:
            log.info("replica %s: %s on %s", self.replica, path, self.model.device)

    def __serve_build_asgi_app__(self):
        # Without a model the app answers 503 "not loaded" until Serve replaces this replica.
        # (`self.app` is Serve's name.) A replica without its model never tries to load it again.
        self.service = create_app(self.model, self.settings, load_model=self.failure is None)
        self.service.add_middleware(ReplicaHeader, replica=self.replica)  # outermost: all answers
        return self.service

    def check_health(self) -> None:
        """Serve calls this every `health_check_period_s`: raising marks this replica unhealthy
        (Serve then replaces it and reports why in `serve status`)."""
        queue = self.service.state.queue if self.service is not None else None
        failure = self.failure or (queue.failure if queue is not None else None)
        if failure:
            raise RuntimeError(f"replica {self.replica}: {failure}")


def options_parser() -> argparse.ArgumentParser:
    """The options of `artimuse serve` that describe the application (not where Serve
    listens: that is the config file's `http_options`, or `artimuse serve --host/--port`)."""
    parser = argparse.ArgumentParser(prog="artimuse.distributed.serve:app",
                                     parents=[model_options()], add_help=False, exit_on_error=False,
                                     allow_abbrev=False)
    parser.add_argument("--replicas", type=int, default=1, help="a fixed number of replicas")
    parser.add_argument("--min-replicas", type=int, help="autoscaling: at least this many")
    parser.add_argument("--max-replicas", type=int, help="autoscaling: at most this many")
    parser.add_argument("--max-queued-requests", type=int, default=SERVE_MAX_QUEUED)
    return parser


def as_argv(args: dict) -> list[str]:
    """{"max_new_tokens": 12, "compile": True} -> ["--max-new-tokens", "12", "--compile"]."""
    argv = []
    for key, value in args.items():
        flag = "--" + str(key).replace("_", "-")
        if isinstance(value, bool) or str(value).lower() in ("true", "false"):
            on = value if isinstance(value, bool) else str(value).lower() == "true"
            argv.append(flag if on else flag.replace("--", "--no-", 1))
        else:
            argv += [flag, str(value)]
    return argv


def app(args: dict | None = None):
    """The application builder (`serve run` / `serve build` / a config file's import_path)."""
    try:
        parsed, unknown = options_parser().parse_known_args(as_argv(args or {}))
        if unknown:
            raise InputError(f"unknown option(s) {unknown}: see `artimuse serve --help`")
    except argparse.ArgumentError as error:
        raise InputError(f"artimuse.distributed.serve:app: {error}") from None
    settings = ServiceSettings.from_env(model=settings_from_args(parsed))
    return application(settings, parsed)


def application(settings: ServiceSettings, parsed: argparse.Namespace):
    """The bound deployment: the checkpoint checked here (one clear message, before any replica
    starts) and the replicas sized from the cluster's CPUs and GPUs."""
    workers = size_workers(parsed.replicas) if _joined() else Workers(parsed.replicas, 1, 0)
    ckpt = checkpoint_for_workers(settings.model.ckpt)
    settings = replace(settings, model=replace(settings.model, ckpt=ckpt))
    scaling = {"num_replicas": workers.count}
    if parsed.min_replicas is not None or parsed.max_replicas is not None:
        low = parsed.min_replicas or 1
        scaling = {"autoscaling_config": {
            "min_replicas": low, "max_replicas": max(low, parsed.max_replicas or low),
            "target_ongoing_requests": SERVE_TARGET_ONGOING,
        }}
    replicas = ArtiMuseReplica.options(
        **scaling,
        ray_actor_options=workers.options(),
        max_ongoing_requests=settings.queue_size,
        max_queued_requests=parsed.max_queued_requests,
    )
    return replicas.bind(settings, workers.threads)


def _joined() -> bool:
    """Whether this process is on a Ray cluster, joining a running one if it is not yet
    (`serve run IMPORT_PATH` builds before it connects: RAY_ADDRESS, else a local `ray start`)."""
    ray = require_ray("serve")
    if ray.is_initialized():
        return True
    try:
        ray.init(address=ray_address() or "auto", logging_level=logging.WARNING)
    except ConnectionError:
        log.warning("no Ray cluster to size the replicas from: 1 CPU and no GPU each (set "
                    "ray_actor_options in a config file, or RAY_ADDRESS)")
        return False
    return True


def deploy(settings: ServiceSettings, replicas: int, host: str = "127.0.0.1", port: int = 8000):
    """Start Serve's HTTP proxy on host:port and the application; returns once it answers."""
    from artimuse.rest.app import warn_if_open

    warn_if_open(host, settings)
    parsed = options_parser().parse_args(["--replicas", str(replicas)])
    serve.start(http_options={"host": host, "port": port})
    serve.run(application(settings, parsed), name=APP_NAME, route_prefix="/")


def main(args: argparse.Namespace, model: Settings) -> int:
    """`artimuse serve`: deploy, then serve until Ctrl-C (which stops Serve)."""
    logging.basicConfig(level="INFO", format="%(levelname)s %(name)s: %(message)s")
    model = replace(model, ckpt=checkpoint_for_workers(model.ckpt))  # fails now, before Ray
    settings = ServiceSettings.from_env(model=model)
    with ray_session(args.address):
        try:
            deploy(settings, args.replicas, args.host, args.port)
            log.info("serving on http://%s:%d with %d replicas; Ctrl-C stops",
                     args.host, args.port, args.replicas)
            threading.Event().wait()
        finally:
            require_ray("serve").serve.shutdown()
    return 0
