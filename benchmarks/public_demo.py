"""How the web app holds up as a public demo, as a stranger would try it (tiny-a on the CPU):
prints one JSON object with

* `named_endpoints` / `events`: what `gradio_client` lists, and every dependency of `/config`;
* `webapp_lines`: lines of `artimuse/webapp/*.py` of the code under test;
* `flood`: one address sends `--flood` model jobs from as many throwaway sessions while the model
  is busy for `--hold` seconds; then a second visitor asks: refused or served, and how long it
  waited (seconds from its request to its answer);
* `disk`: bytes added under gradio's upload folder and the web app's temporary folders by
  `--uploads` uploads of 1 MB (no session, as `/gradio_api/upload` allows) and `--exports`
  exports (the client-fed export events where the page has them, else Assess runs, whose
  exports the server writes).

    python -m benchmarks.public_demo [--flood 20] [--hold 2] [--uploads 300] [--exports 50]

It runs against whatever `artimuse` is importable, so the same script measures another
checkout (`PYTHONPATH=OTHER_CHECKOUT python benchmarks/public_demo.py`).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import tempfile
import threading
import time
import uuid
from pathlib import Path

TINY_A = Path(__file__).resolve().parents[1] / "tests" / "data" / "tiny-a"
PICTURE = TINY_A.parent / "images" / "shapes_rgba_300x500.png"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flood", type=int, default=20)
    parser.add_argument("--hold", type=float, default=2.0)
    parser.add_argument("--uploads", type=int, default=300)
    parser.add_argument("--exports", type=int, default=50)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="public-demo-"))
    os.environ["GRADIO_TEMP_DIR"] = str(scratch / "gradio")  # before gradio is imported
    os.environ["TMPDIR"] = str(scratch)
    tempfile.tempdir = str(scratch)
    app, url = serve()
    try:
        result = {"load_average": os.getloadavg()[0], **endpoints(url), "webapp_lines": lines()}
        result["flood"] = flood(app, url, args.flood, args.hold)
        result["disk"] = disk(app, url, scratch, args.uploads, args.exports)
    finally:
        app.close()
    print(json.dumps(result, indent=2))


def serve():
    import artimuse
    from artimuse.webapp.app import build_app, launch
    from artimuse.webapp.state import ModelHolder

    model = artimuse.load(str(TINY_A), device="cpu", dtype="float32", max_new_tokens=12)
    app = build_app(ModelHolder.with_model(model))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    launch(app, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    return app, f"http://127.0.0.1:{port}/"


def endpoints(url: str) -> dict:
    import httpx
    from gradio_client import Client

    api = Client(url, verbose=False).view_api(return_format="dict", print_info=False)
    config = httpx.get(url + "config").json()
    return {
        "named_endpoints": sorted(api["named_endpoints"]),
        "events": len(config["dependencies"]),
    }


def lines() -> int:
    import artimuse.webapp

    folder = Path(artimuse.webapp.__file__).parent
    return sum(len(p.read_text(encoding="utf-8").splitlines()) for p in folder.glob("*.py"))


def assess_arguments(client) -> tuple:
    """Positional arguments of `/assess` for a 12-token run, whichever shape the page has."""
    from gradio_client import handle_file

    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/assess"]
    names = [p["parameter_name"] for p in api["parameters"]]
    picture = handle_file(str(PICTURE))
    return (picture, None, 12) if "aspects" in names else (picture, 12)


def flood(app, url: str, count: int, hold: float) -> dict:
    from gradio_client import Client

    holder = app.artimuse.holder
    flooder = {"X-Forwarded-For": "203.0.113.9"}
    clients = [Client(url, verbose=False, headers=flooder) for _ in range(count)]
    arguments = assess_arguments(clients[0])
    second = Client(url, verbose=False, headers={"X-Forwarded-For": "192.0.2.1"})
    outcome: dict = {}
    with holder.lock:
        jobs = [c.submit(*arguments, api_name="/assess") for c in clients]
        time.sleep(1.0)  # the flood is in
        start = time.monotonic()
        waiter = threading.Thread(target=_second_visitor, args=(second, arguments, outcome, start))
        waiter.start()
        time.sleep(hold)
    waiter.join(timeout=600)
    refused = 0
    for job in jobs:
        try:
            job.result(timeout=600)
        except Exception:  # gradio_client's error types differ between versions
            refused += 1
    return {"flood_jobs": count, "flood_refused": refused, "model_busy_s": hold, **outcome}


def _second_visitor(client, arguments, outcome: dict, start: float) -> None:
    try:
        client.predict(*arguments, api_name="/assess")
        outcome["second_visitor"] = "served"
    except Exception as error:
        outcome["second_visitor"] = f"refused: {str(error)[:120]}"
    outcome["second_visitor_wait_s"] = round(time.monotonic() - start, 2)


def disk(app, url: str, scratch: Path, uploads: int, exports: int) -> dict:
    import httpx

    before = _bytes(scratch)
    blob = os.urandom(2**20)
    started = time.monotonic()
    refused = 0
    stranger = {"X-Forwarded-For": "203.0.113.66"}
    with httpx.Client(base_url=url, timeout=60, headers=stranger) as http:
        for i in range(uploads):
            answer = http.post("gradio_api/upload", files={"files": (f"junk-{i}.bin", blob)})
            refused += answer.status_code != 200
    upload_s = time.monotonic() - started
    after_uploads = _bytes(scratch)
    _export(app, url, exports)
    after_exports = _bytes(scratch)
    return {
        "uploads": uploads,
        "uploads_refused": refused,
        "upload_s": round(upload_s, 2),
        "upload_growth_mb": round((after_uploads - before) / 2**20, 1),
        "exports": exports,
        "export_growth_mb": round((after_exports - after_uploads) / 2**20, 2),
    }


def _export(app, url: str, count: int) -> None:
    """The page's client-fed export event when it has one (a 1 MB result, as a stranger sends
    it), else Assess runs from as many sessions (the server writes their exports)."""
    fed = [i for i, f in app.fns.items() if _name(getattr(f.fn, "func", None)) == "export"]
    runs = [i for i, f in app.fns.items() if _name(f.fn) == "run"]
    result = {"image": "x.png", "assessment": _fake_assessment()}
    upload = _upload(url)
    for _ in range(count):
        if fed:
            _call(url, fed[0], [result, "en"])
        else:  # what the page sends: the picture, a length, the language (a state: nothing)
            values = {"image": upload, "radio": 12, "textbox": "en"}
            _call(url, runs[0], [values.get(c.get_block_name()) for c in app.fns[runs[0]].inputs])


def _name(fn) -> str:
    return getattr(fn, "__name__", "")


def _fake_assessment() -> dict:
    aspects = {"Composition & Design": 50.0}
    return {
        "Aesthetic Score": 50.0,
        "Aesthetic Attributes": {"Composition & Design": "x" * 2**20},
        "Aspect Scores": aspects,
        "Score Distribution": [1 / 101] * 101,
        "Checkpoint": "tiny-a",
    }


def _upload(url: str) -> dict:
    import httpx

    with open(PICTURE, "rb") as handle:
        paths = httpx.post(
            url + "gradio_api/upload", files={"files": (PICTURE.name, handle)}
        ).json()
    return {"path": paths[0], "orig_name": PICTURE.name, "meta": {"_type": "gradio.FileData"}}


def _call(url: str, index: int, data: list) -> None:
    import httpx

    session = uuid.uuid4().hex
    body = {"data": data, "fn_index": index, "session_hash": session}
    with httpx.Client(base_url=url, timeout=120) as http:
        if http.post("gradio_api/queue/join", json=body).status_code != 200:
            http.post("gradio_api/run/predict", json=body)
            return
        with http.stream("GET", "gradio_api/queue/data", params={"session_hash": session}) as s:
            for line in s.iter_lines():
                if "process_completed" in line:
                    return


def _bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


if __name__ == "__main__":
    main()
