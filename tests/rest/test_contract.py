"""The OpenAPI document is what the service does: schemathesis with every check against a real
server (with and without a key), and the README's curl examples sent as they are written."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from PIL import Image

from artimuse.config import ServiceSettings
from artimuse.rest.app import create_app
from tests.rest.live import serving

pytest.importorskip("schemathesis", reason="schemathesis is in the dev extra")
ROOT = Path(__file__).resolve().parents[2]
KEY = "contract-key"
EXAMPLES = 25  # per operation and phase: 150-250 requests a run
SCHEMATHESIS = [
    sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()", "run",
]


def schemathesis_run(address, workdir, *headers: str) -> subprocess.CompletedProcess:
    """The CLI as an operator runs it (in `workdir`: it keeps a cache there), with our hooks."""
    host, port = address
    command = [
        *SCHEMATHESIS, f"http://{host}:{port}/openapi.json", "--checks", "all",
        "--max-examples", str(EXAMPLES), "--seed", "19", "--workers", "1", "--no-color",
        *(part for header in headers for part in ("-H", header)),
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.rest.schemathesis_hooks",
           "PYTHONPATH": str(ROOT)}
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("key", [None, KEY], ids=["no-key", "key"])
def test_schemathesis_with_every_check_finds_nothing(tiny_model, key, tmp_path):
    app = create_app(tiny_model, ServiceSettings(api_key=key))
    headers = [f"Authorization: Bearer {key}"] if key else []
    with serving(app) as address:
        run = schemathesis_run(address, tmp_path, *headers)
    summary = run.stdout[run.stdout.rfind("SUMMARY"):]
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    generated = int(re.search(r"(\d+) generated", summary)[1])
    assert generated >= 100 and "6 selected / 6 total" in run.stdout


def test_bearer_is_in_the_document_only_with_a_key(tiny_model):
    def document(key):
        app = create_app(tiny_model, ServiceSettings(api_key=key))
        return app.openapi()

    open_doc, keyed_doc = document(None), document(KEY)
    assert "securitySchemes" not in open_doc.get("components", {})
    assert all("security" not in op for path in open_doc["paths"].values() for op in path.values())
    assert keyed_doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path, operations in keyed_doc["paths"].items():
        for operation in operations.values():
            keyed = "security" in operation
            assert keyed == (path != "/health"), path
            assert ("401" in operation["responses"]) == keyed, path


# --- the README's curl examples ----------------------------------------------------------

README = (ROOT / "README.md").read_text(encoding="utf-8")
REST_SECTION = README[README.index("### The REST service") :]
REST_SECTION = REST_SECTION[: REST_SECTION.index("\n### ", 5)]


def curl_examples() -> list[list[str]]:
    block = re.search(r"```bash\n(.*?)```", REST_SECTION, re.S)[1]
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]


def as_request(argv: list[str], base: str, key: str) -> dict:
    """What a curl command line sends: method, URL, form parts, headers."""
    assert argv[0] == "curl"
    request = {"method": "GET", "files": [], "headers": {}}
    args = iter(argv[1:])
    for arg in args:
        if arg == "-F":
            name, _, value = next(args).partition("=@")
            request["files"].append((name, (value, picture(value))))
            request["method"] = "POST"
        elif arg == "-H":
            name, _, value = next(args).partition(": ")
            request["headers"][name] = value.replace("$ARTIMUSE_API_KEY", key)
        elif arg.startswith("http"):
            request["url"] = arg.replace("http://127.0.0.1:8000", base)
        else:
            assert arg in ("-s", "-sN"), arg  # nothing else is used: nothing else is checked
    return request


def picture(name: str) -> bytes:
    buffer = io.BytesIO()
    kind = "PNG" if name.endswith("png") else "JPEG"
    Image.new("RGB", (20, 16), (90, 140, 200)).save(buffer, kind)
    return buffer.getvalue()


def test_the_readmes_curl_examples_are_the_documents_routes_and_answer_as_declared(tiny_model):
    key = "readme-key"
    app = create_app(tiny_model, ServiceSettings(api_key=key))
    document = app.openapi()
    examples = curl_examples()
    assert len(examples) >= 6
    with serving(app) as (host, port), httpx.Client(timeout=60) as client:
        base = f"http://{host}:{port}"
        for argv in examples:
            request = as_request(argv, base, key)
            path = httpx.URL(request["url"]).path
            operation = document["paths"][path][request["method"].lower()]
            body = operation.get("requestBody", {}).get("content", {}).get("multipart/form-data")
            if request["files"]:
                name = body["schema"]["$ref"].rsplit("/", 1)[1]
                fields = document["components"]["schemas"][name]["properties"]
                assert {part for part, _ in request["files"]} == set(fields), path
            if "security" in operation:  # the README's line without a key shows the open mode
                request["headers"].setdefault("Authorization", f"Bearer {key}")
            response = client.request(**request)
            assert response.status_code == 200, (path, response.text)
            declared = operation["responses"]["200"]["content"]
            media = response.headers["content-type"].split(";")[0]
            assert media in declared, path
            lines = response.text.splitlines() if media == "application/x-ndjson" else [
                response.text]
            for line in lines:
                assert_matches(json.loads(line), declared[media]["schema"], document)


def assert_matches(value, schema: dict, document: dict) -> None:
    """`value` is valid under the document's `schema` (refs into its components)."""
    import jsonschema

    resolvable = {**schema, "components": document["components"]}
    jsonschema.validate(value, resolvable, cls=jsonschema.Draft202012Validator)


def test_every_model_route_is_admitted_at_the_door(tiny_model):
    from artimuse.rest.gate import MODEL_ROUTES

    document = create_app(tiny_model, ServiceSettings()).openapi()
    posts = {path for path, operations in document["paths"].items() if "post" in operations}
    assert set(MODEL_ROUTES) == posts  # each declares 429/503; the gate is what gives them
    assert all({"429", "503"} <= set(document["paths"][p]["post"]["responses"]) for p in posts)
