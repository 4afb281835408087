"""A stranger at the web app's door, for tests: the app started as its users start it (a
subprocess of `demo_gradio.py` in folders of its own) and an HTTP client that speaks Gradio's
wire protocol as any script can, without the page.

    with WebAppProcess(env={"ARTIMUSE_PUBLIC": "1", ...}) as app:
        peer = GradioPeer(app.url)
        for index, dependency in enumerate(peer.config()["dependencies"]):
            peer.join(index, [...])          # POST /gradio_api/queue/join + the SSE answers
            peer.predict(index, [...])       # POST /gradio_api/run/predict

Nothing here imports the web app: what it knows of the app is what `/config` says, so the tests
built on it hold whatever the app's insides become. `hostile_values` is the stranger's bag of
values (server paths, hub ids, forged log lines, megabyte strings, huge numbers and JSON).
"""

from __future__ import annotations

import io
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

DEMO = Path(__file__).resolve().parents[2] / "demo_gradio.py"
FILE_TYPES = {"image", "file", "gallery", "video", "audio", "model3d", "uploadbutton"}
FORGED = "FORGED-LOG-LINE"  # a line of the server's log starting with it was forged by us


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session() -> str:
    return secrets.token_hex(6)


@dataclass
class WebAppProcess:
    """`python demo_gradio.py --host 127.0.0.1 --port <free>` (or `script`) with `env` added,
    its working folder `cwd`, its temp folder `tmp` (TMPDIR and GRADIO_TEMP_DIR) and its log in
    `log`. `start()` returns at once (two apps can start side by side); `wait()` blocks until
    `/config` answers."""

    root: Path  # a fresh folder: the app's cwd, temp, home and log live under it
    env: dict[str, str | None] = field(default_factory=dict)  # None unsets a variable
    script: Path = DEMO  # or a Space's app.py (which takes HOST and PORT from the environment)
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def cwd(self) -> Path:
        return self.root / "cwd"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> WebAppProcess:
        for folder in (self.cwd, self.tmp, self.home):
            folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if k not in self.env or self.env[k] is not None},
            "TMPDIR": str(self.tmp),
            "GRADIO_TEMP_DIR": str(self.tmp / "gradio"),
            "HOME": str(self.home),
            "HF_HOME": str(self.home / "hf"),
            "HF_HUB_CACHE": str(self.home / "hf" / "hub"),  # both: either one may be set outside
            "MODELSCOPE_CACHE": str(self.home / "modelscope"),
            "GRADIO_ANALYTICS_ENABLED": "False",
            "PYTHONUNBUFFERED": "1",
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            **{k: v for k, v in self.env.items() if v is not None},  # None: unset
        }
        command = [sys.executable, str(self.script)]
        if self.script == DEMO:
            command += ["--host", "127.0.0.1", "--port", str(self.port)]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=self.cwd, env=env, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        return self

    def wait(self, timeout: float = 120) -> WebAppProcess:
        """Until `/config` answers (the model may still be loading: see `wait_for`)."""
        wait_for(lambda: self._answers(), timeout, self)
        return self

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/config", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> WebAppProcess:
        return self.start().wait()

    def __exit__(self, *exc) -> None:
        self.stop()


def wait_for(condition, timeout: float, app: WebAppProcess | None = None, every: float = 0.2):
    """Poll `condition` until it is true; fail with the server's log if the app died or the
    time ran out (the time is a safety bound, not a measurement)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if app is not None and not app.alive():
            raise AssertionError(f"the web app exited:\n{app.log_text()[-4000:]}")
        if time.monotonic() > deadline:
            tail = app.log_text()[-4000:] if app is not None else ""
            raise AssertionError(f"gave up after {timeout:.0f} s\n{tail}")
        time.sleep(every)


@dataclass
class Outcome:
    """What one call got back: the HTTP status of the request, whether the event completed
    successfully, its error text, its last output, and every byte the server sent about it
    (for checks that nothing of another visitor's leaks)."""

    status: int
    success: bool | None = None
    error: str | None = None
    output: object = None
    raw: str = ""
    seconds: float = 0.0  # from the request to the answer (for reports, never for asserts)


class GradioPeer:
    """Gradio's HTTP protocol as a script speaks it: `/config`, uploads, queue joins with their
    server-sent events, direct predictions. Every call has a timeout (a safety bound)."""

    def __init__(self, url: str, timeout: float = 60):
        self.url, self.timeout = url.rstrip("/"), timeout
        self.http = httpx.Client(base_url=self.url, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def config(self) -> dict:
        answer = self.http.get("/config")
        answer.raise_for_status()
        return answer.json()

    def upload(self, name: str, data: bytes) -> dict:
        """POST /gradio_api/upload; the FileData a later call passes for this file."""
        answer = self.http.post("/gradio_api/upload", files={"files": (name, data)})
        answer.raise_for_status()
        return file_data(answer.json()[0], name)

    def predict(self, fn_index: int, data: list, session_hash: str | None = None) -> Outcome:
        body = {"data": data, "fn_index": fn_index, "session_hash": session_hash or session()}
        answer = self.http.post("/gradio_api/run/predict", json=body)
        text = answer.text
        try:
            payload = answer.json()
        except ValueError:
            return Outcome(answer.status_code, False, text[:2000], None, text)
        ok = answer.status_code == 200 and not payload.get("error")
        error = None if ok else str(payload.get("error") or payload.get("detail"))[:2000]
        return Outcome(answer.status_code, ok, error, payload.get("data"), text)

    def call(self, api_name: str, data: list) -> Outcome:
        """By name, as the docs page shows: POST /gradio_api/call/NAME, then its event stream."""
        answer = self.http.post(f"/gradio_api/call/{api_name}", json={"data": data})
        outcome = Outcome(answer.status_code, raw=answer.text)
        if answer.status_code != 200:
            outcome.success, outcome.error = False, answer.text[:2000]
            return outcome
        event_id = answer.json()["event_id"]
        event = None
        with self.http.stream("GET", f"/gradio_api/call/{api_name}/{event_id}") as stream:
            for line in stream.iter_lines():
                outcome.raw += line + "\n"
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    data = line[5:].strip()
                    outcome.success = event == "complete"
                    if outcome.success:
                        outcome.output = data
                    else:
                        outcome.error = data
                    break
        if outcome.success is None:
            outcome.success, outcome.error = False, "stream ended early"
        return outcome

    def join(self, fn_index: int, data: list, session_hash: str | None = None) -> Outcome:
        started = time.monotonic()
        outcome = self.join_many([(fn_index, data)], session_hash)[0]
        outcome.seconds = time.monotonic() - started
        return outcome

    def join_many(self, calls: list[tuple[int, list]], session_hash: str | None = None):
        """Join the queue with each (fn_index, data) in one session, then read the session's
        event stream until each admitted event has completed."""
        session_hash = session_hash or session()
        outcomes, waiting = self.submit(calls, session_hash)
        self.collect(session_hash, waiting)
        return outcomes

    def submit(self, calls: list[tuple[int, list]], session_hash: str):
        """Join without waiting: the outcomes, and the admitted ones by event id (`collect`)."""
        outcomes, waiting = [], {}
        for fn_index, data in calls:
            body = {"data": data, "fn_index": fn_index, "session_hash": session_hash,
                    "event_data": None, "trigger_id": None}
            answer = self.http.post("/gradio_api/queue/join", json=body)
            outcome = Outcome(answer.status_code, raw=answer.text)
            if answer.status_code == 200:
                waiting[answer.json()["event_id"]] = outcome
            else:
                outcome.success, outcome.error = False, answer.text[:2000]
            outcomes.append(outcome)
        return outcomes, waiting

    def collect(self, session_hash: str, waiting: dict[str, Outcome]) -> None:
        if waiting:
            self._read_events(session_hash, waiting)

    def _read_events(self, session_hash: str, waiting: dict[str, Outcome]) -> None:
        pending = dict(waiting)
        url = "/gradio_api/queue/data"
        deadline = time.monotonic() + self.timeout  # heartbeats arrive at least every 15 s
        with self.http.stream("GET", url, params={"session_hash": session_hash}) as stream:
            for line in stream.iter_lines():
                if time.monotonic() > deadline:
                    break
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                outcome = pending.get(message.get("event_id"))
                if message.get("msg") == "close_stream" or not pending:
                    break
                if outcome is None:
                    continue
                outcome.raw += line
                if message.get("msg") in ("process_generating", "process_completed"):
                    output = message.get("output") or {}
                    outcome.output = output.get("data", outcome.output)
                    outcome.error = output.get("error") or outcome.error
                if message.get("msg") == "process_completed":
                    outcome.success = bool(message.get("success")) and not outcome.error
                    del pending[message["event_id"]]
                    if not pending:
                        break
        for outcome in pending.values():
            outcome.success = False
            outcome.error = outcome.error or "no answer in time (stream ended or timed out)"


def file_data(path: str, name: str | None = None, **extra) -> dict:
    return {"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}, **extra}


# --- what a stranger sends -----------------------------------------------------------------


def hostile_values(server_paths: list[str], hub_ids: list[str], foreign: list[str]) -> dict:
    """Profile name -> (a value for text-like inputs, a value for file inputs).

    `server_paths`: folders and files on the server; `hub_ids`: repos the hub stand-in would
    serve (any request reaching it is a failure); `foreign`: another visitor's session hash and
    upload path."""
    megabyte = "A" * (1 << 20)
    forged = f"ok\n{FORGED} INFO artimuse: the model has moved, log in at evil.example\r\n"
    huge_json = {"assessment": {f"k{i}": "B" * 1000 for i in range(1000)}, "complete": True}
    deep = nested(400)
    return {
        "server_path": (server_paths[0], [file_data(p) for p in server_paths]),
        "hub_id_2": (hub_ids[0], [file_data(f"{i}/config.json") for i in hub_ids]),
        "hub_id": (hub_ids[1], file_data(hub_ids[0], url=f"{hub_ids[-1]}")),
        "newline": (forged, file_data(forged, forged)),
        "megabyte": (megabyte, file_data(megabyte, megabyte)),
        "huge_number": (10**30, file_data("1e308", size=-(2**63))),
        "huge_json": (huge_json, huge_json),
        "deep_json": (deep, deep),
        "foreign": (foreign[0], [file_data(p) for p in foreign[1:]] or [None, {}, True]),
    }


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def arguments(config: dict, dependency: dict, text_value, file_value) -> list:
    """One value per input of `dependency`: `file_value` for file-like components."""
    types = {c["id"]: c["type"] for c in config["components"]}
    return [file_value if types.get(i) in FILE_TYPES else text_value for i in dependency["inputs"]]


def components(config: dict) -> dict[int, dict]:
    return {c["id"]: c for c in config["components"]}


def inputs_by_elem_id(config: dict, dependency: dict) -> list[str | None]:
    by_id = components(config)
    return [by_id[i]["props"].get("elem_id") for i in dependency["inputs"] if i in by_id]


def files_under(folder: Path) -> dict[str, int]:
    """Relative path -> size of every file under `folder` (a snapshot to compare)."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()
    }


def visible_state(config: dict) -> str:
    """What every visitor is shown: the components' initial values and the events, as JSON
    (a stranger must not be able to change it)."""
    shown = [(c["id"], c["type"], c["props"].get("value"), c["props"].get("choices"))
             for c in config["components"]]
    return json.dumps([shown, config["dependencies"]], sort_keys=True, default=str)


# --- what a visitor does --------------------------------------------------------------------


def picture(seed: int) -> bytes:
    """A small PNG no other test sends (so no cache knows it)."""
    pixels = np.random.default_rng(seed).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, "PNG")
    return buffer.getvalue()


def score(app, data: bytes, name: str = "probe.png") -> dict:
    """What a visitor's `gradio_client` gets from `/score` for the picture `data` (written to
    the app's root folder as `name`, outside the folders the app writes)."""
    from gradio_client import Client, handle_file

    path = app.root / name
    path.write_bytes(data)
    client = Client(app.url, verbose=False)
    if "/score" not in client.view_api(return_format="dict")["named_endpoints"]:
        raise AssertionError("the app has no named /score endpoint")
    answer = client.predict(handle_file(str(path)), api_name="/score")
    return answer if isinstance(answer, dict) else json.loads(answer)


def ui_dependencies(config: dict, elem_id: str) -> list[int]:
    """The events that take the component `elem_id` (the page's own ids), in page order."""
    return [
        i for i, d in enumerate(config["dependencies"]) if elem_id in inputs_by_elem_id(config, d)
    ]


def legit_arguments(config: dict, index: int, files: list[dict]) -> list:
    """What the page itself would send: each component's value, the files for file inputs."""
    by_id = components(config)
    values = []
    for i in config["dependencies"][index]["inputs"]:
        component = by_id[i]
        if component["type"] in ("image", "file", "gallery"):
            multiple = component["props"].get("file_count") in ("multiple", "directory")
            values.append(files if multiple else files[0])
        else:
            values.append(component["props"].get("value"))
    return values


def ready_score(app, data: bytes) -> dict | None:
    """`score`, or None while the model is still loading (for `wait_for`)."""
    try:
        return score(app, data)
    except AssertionError:
        raise
    except Exception as error:  # still loading: gradio_client's AppError
        if "load" not in str(error).lower():
            raise
        return None
