"""The REST service on Ray Serve, deployed as an operator does: `serve run` on a config file whose
import path is `artimuse.distributed.serve:app`. Two CPU replicas answer as the one-process
service, each response naming its replica; past the proxy's queue requests get 503 with
Retry-After; a replica whose model failed is reported by its health check; the docs' config
files are Serve's format with the builder's options."""

from __future__ import annotations

import io
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import torch
import yaml
from fastapi.testclient import TestClient
from PIL import Image

from artimuse.config import ServiceSettings, Settings
from artimuse.rest.app import create_app
from tests.helpers import CONFORMANCE_IMAGES, TINY_A

pytest.importorskip("ray.serve", reason='Ray Serve is not installed: pip install "artimuse[ray]"')
pytestmark = pytest.mark.ray
KEY = "serve-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
QUEUE = 2  # per replica: Serve's max_ongoing_requests
QUEUED = 3  # at the proxy: max_queued_requests
SETTINGS = ServiceSettings(
    model=Settings(str(TINY_A), "cpu", "float32", 12), api_key=KEY, queue_size=QUEUE
)
ROOT = Path(__file__).resolve().parents[2]
DEADLINE_S = 120  # a failure guard only: Serve reaches each state within seconds


def png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 20), colour).save(buffer, "PNG")
    return buffer.getvalue()


UPLOADS = {
    "gradient": CONFORMANCE_IMAGES["gradient_640x480_q95"].read_bytes(),
    "red": png((200, 40, 40)),
    "not-an-image": b"hello, not an image",
    "corrupt": b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def broken_checkpoint(folder):
    """tiny-a's files with its weights replaced by garbage: the driver's checks (config, weight
    files present) pass, loading on the replica fails."""
    for item in TINY_A.iterdir():
        if item.is_file():
            target = folder / item.name
            target.write_bytes(b"not safetensors" if item.suffix == ".safetensors" else
                               item.read_bytes())
    return folder


def config_file(path, port: int, broken) -> None:
    model = {"device": "cpu", "dtype": "float32", "max_new_tokens": 12}
    env = {"env_vars": {"ARTIMUSE_API_KEY": KEY, "ARTIMUSE_QUEUE_SIZE": str(QUEUE)}}
    config = {
        "proxy_location": "HeadOnly",
        "http_options": {"host": "127.0.0.1", "port": port},
        "applications": [
            {"name": "artimuse", "route_prefix": "/", "runtime_env": env,
             "import_path": "artimuse.distributed.serve:app",
             "args": {"ckpt": str(TINY_A), "replicas": 2, **model},
             "deployments": [{"name": "ArtiMuseReplica", "max_queued_requests": QUEUED}]},
            {"name": "broken", "route_prefix": "/broken", "runtime_env": env,
             "import_path": "artimuse.distributed.serve:app",
             "args": {"ckpt": str(broken), **model},
             "deployments": [{"name": "ArtiMuseReplica", "health_check_period_s": 1,
                              "ray_actor_options": {"num_cpus": 0.5}}]},
        ],
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")


def wait_for(predicate, what: str):
    deadline = time.monotonic() + DEADLINE_S
    while (value := predicate()) is None:
        assert time.monotonic() < deadline, f"Serve did not {what} in {DEADLINE_S} s"
        time.sleep(0.5)  # polling Serve's controller for a state change
    return value


@pytest.fixture(scope="module")
def served(local_ray, tmp_path_factory):
    """`serve run CONFIG --non-blocking` (Serve's own CLI, in this process's Ray): the
    application `artimuse` with 2 replicas of 1 CPU, and `broken`; stopped after the module."""
    from click.testing import CliRunner
    from ray import serve
    from ray.serve.scripts import cli

    folder = tmp_path_factory.mktemp("serve")
    port = free_port()
    config = folder / "serve.yaml"
    broken = folder / "broken"
    broken.mkdir()
    config_file(config, port, broken_checkpoint(broken))
    result = CliRunner().invoke(cli, ["run", str(config), "--non-blocking"])
    assert result.exit_code == 0, result.output
    try:
        wait_for(lambda: _running("artimuse"), "run the application")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            yield client
    finally:
        serve.shutdown()


def _running(name: str) -> bool | None:
    from ray import serve

    application = serve.status().applications.get(name)
    if application is not None and application.status == "DEPLOY_FAILED":
        pytest.fail(f"{name} failed to deploy: {application.message}")
    return True if application is not None and application.status == "RUNNING" else None


def _app_status(name: str):
    from ray import serve

    application = serve.status().applications.get(name)
    return application.status if application else None


@pytest.fixture(scope="module")
def alone(tiny_model):
    """The one-process service, on one torch thread as each replica (1 CPU) computes."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with TestClient(create_app(tiny_model, SETTINGS)) as client:
            yield client
    finally:
        torch.set_num_threads(threads)


def post(client, path: str, name: str, headers=AUTH):
    return client.post(path, files={"file": (f"{name}.png", UPLOADS[name])}, headers=headers)


def test_both_replicas_answer_and_answers_are_the_one_process_services(served, alone):
    replicas, tries = set(), 0
    while len(replicas) < 2 and tries < 40:  # the router picks at random between idle replicas
        for name in ("gradient", "red"):
            answer, want = post(served, "/score", name), post(alone, "/score", name)
            assert (answer.status_code, answer.json()) == (200, want.json())
            replicas.add(answer.headers["X-Replica"])
        tries += 1
    assert len(replicas) == 2

    answer, want = post(served, "/infer", "gradient"), post(alone, "/infer", "gradient")
    assert (answer.status_code, answer.json()) == (200, want.json())  # comments token for token
    meta = served.get("/meta", headers=AUTH).json()
    assert meta["limits"] == alone.get("/meta", headers=AUTH).json()["limits"]


@pytest.mark.parametrize(
    ("path", "name", "headers"),
    [
        ("/score", "not-an-image", AUTH),
        ("/score", "corrupt", AUTH),
        ("/score/batch", "corrupt", AUTH),
        ("/score", "red", {}),
        ("/score", "red", {"Authorization": "Bearer wrong"}),
        ("/nowhere", "red", AUTH),
    ],
    ids=["not-image", "corrupt", "batch-corrupt", "no-key", "wrong-key", "no-route"],
)
def test_refusals_are_the_one_process_services(served, alone, path, name, headers):
    if path == "/score/batch":
        files = [("files", ("a.png", UPLOADS[name])), ("files", ("b.png", UPLOADS["red"]))]
        answer = served.post(path, files=files, headers=headers)
        want = alone.post(path, files=files, headers=headers)
    else:
        answer, want = post(served, path, name, headers), post(alone, path, name, headers)
    assert (answer.status_code, answer.json()) == (want.status_code, want.json())
    assert answer.headers["X-Replica"]  # refusals too name the replica


def test_score_requests_that_arrive_together_are_all_answered(served, alone):
    names = ["gradient", "red", "corrupt", "red"]  # within 2 replicas x QUEUE
    with ThreadPoolExecutor(len(names)) as pool:
        answers = list(pool.map(lambda name: post(served, "/score", name), names))
    for name, answer in zip(names, answers, strict=True):
        want = post(alone, "/score", name)
        assert answer.status_code == want.status_code
        if want.status_code == 200:  # batched with others: equal to the 3rd decimal
            assert answer.json()["total_score"] == pytest.approx(
                want.json()["total_score"], abs=2e-3
            )
        else:
            assert answer.json() == want.json()


def test_past_the_proxys_queue_requests_get_503_with_retry_after(served):
    burst = 4 * (2 * QUEUE + QUEUED)  # many more than the replicas take and the proxy holds
    with ThreadPoolExecutor(burst) as pool:
        answers = list(pool.map(lambda _: post(served, "/infer", "red"), range(burst)))
    statuses = [answer.status_code for answer in answers]
    refused = [answer for answer in answers if answer.status_code == 503]
    assert set(statuses) <= {200, 503} and refused and statuses.count(200) >= 2 * QUEUE
    assert all(int(answer.headers["Retry-After"]) >= 1 for answer in refused)
    assert post(served, "/score", "red").status_code == 200  # and then it serves again


def test_a_replica_whose_model_failed_is_reported(served):
    from ray import serve

    def reported():
        application = serve.status().applications.get("broken")
        if application is None or application.status in ("DEPLOYING", "NOT_STARTED"):
            return None
        deployment = application.deployments["ArtiMuseReplica"]
        return application.status, deployment.message

    status, message = wait_for(reported, "report the broken replica")
    assert status in ("UNHEALTHY", "DEPLOY_FAILED")
    assert "the model failed to load" in message
    assert _app_status("artimuse") == "RUNNING"  # the healthy application is untouched


def serve_configs_in_the_docs() -> list[dict]:
    text = (ROOT / "docs" / "scaling.md").read_text(encoding="utf-8")
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", text, re.S)]
    configs = [b for b in blocks if "applications" in b]
    configs += [yaml.safe_load(b["spec"]["serveConfigV2"]) for b in blocks if "spec" in b]
    return configs


def test_the_docs_serve_configs_are_valid_and_their_args_are_the_builders():
    from ray.serve.schema import ServeDeploySchema

    from artimuse.distributed.serve import as_argv, options_parser

    configs = serve_configs_in_the_docs()
    assert len(configs) == 2  # the config file and the RayService's serveConfigV2
    for config in configs:
        ServeDeploySchema.model_validate(config)
        for application in config["applications"]:
            assert application["import_path"] == "artimuse.distributed.serve:app"
            parsed, unknown = options_parser().parse_known_args(as_argv(application["args"]))
            assert not unknown and parsed.ckpt == application["args"]["ckpt"]
            (deployment,) = application["deployments"]
            assert deployment["name"] == "ArtiMuseReplica"


def test_the_builder_refuses_an_unknown_option_by_name():
    from artimuse.distributed.serve import app
    from artimuse.errors import InputError

    with pytest.raises(InputError, match="replica"):
        app({"replica": 2})  # a typo of `replicas`
    with pytest.raises(InputError, match="max-new-tokens"):
        app({"max_new_tokens": "many"})
