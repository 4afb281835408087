"""A stranger against the public web app, over HTTP only (artimuse/testing/stranger.py): the
app runs as its users start it (`demo_gradio.py`, ARTIMUSE_PUBLIC=1, the tiny checkpoint, a local
hub stand-in as HF_ENDPOINT) in folders of its own; every event its `/config` lists is called by
`fn_index` (queue join and run/predict) and by name with hostile values. Nothing a stranger sends
may reach the hub, write a folder, change the model or what other visitors see, leak another
visitor's work, flood the log, or keep a second visitor out; the per-visitor caps hold."""

from __future__ import annotations

import json
import secrets
import shutil

import pytest

pytest.importorskip("gradio")
pytest.importorskip("gradio_client")

from artimuse.testing.hub_server import HubServer  # noqa: E402
from artimuse.testing.stranger import (  # noqa: E402
    GradioPeer,
    WebAppProcess,
    arguments,
    files_under,
    hostile_values,
    legit_arguments,
    picture,
    ready_score,
    score,
    session,
    ui_dependencies,
    visible_state,
    wait_for,
)
from tests.helpers import TINY_A  # noqa: E402

HUB_REPOS = ("Thunderbolt215215/ArtiMuse", "evil/artimuse-pwned")
CAP_TOKENS = 8  # ARTIMUSE_MAX_NEW_TOKENS of the app under test
MAX_BATCH = 3  # ARTIMUSE_MAX_BATCH
MAX_COMPARE = 4
QUEUE_SIZE = 6  # ARTIMUSE_QUEUE_SIZE: a flood of FLOOD jobs would fill it
FLOOD = 10
LOG_BUDGET = 256 * 1024  # bytes the server may log while the stranger sends > 100 MB
TEMP_BUDGET = 1 << 20  # bytes the hostile calls may leave in the temp folder
DISK_BUDGET = 8 << 20  # bytes 300 uploads (19 MB) + 50 exports may leave on disk
UPLOADS, UPLOAD_BYTES, EXPORTS = 300, 64 * 1024, 50


@pytest.fixture(scope="module")
def public(tmp_path_factory, hub_checkpoint):
    root = tmp_path_factory.mktemp("stranger")
    ckpt = root / "checkpoint" / "tiny-a"  # a copy: the test sees anything written into it
    shutil.copytree(TINY_A, ckpt)
    with HubServer(dict.fromkeys(HUB_REPOS, hub_checkpoint)) as hub:
        env = {
            "ARTIMUSE_PUBLIC": "1",
            "ARTIMUSE_ADMIN_PASSWORD": None,
            "SPACE_ID": None,
            "ARTIMUSE_CKPT": str(ckpt),
            "ARTIMUSE_DEVICE": "cpu",
            "ARTIMUSE_DTYPE": "float32",
            "ARTIMUSE_MAX_NEW_TOKENS": str(CAP_TOKENS),
            "ARTIMUSE_MAX_BATCH": str(MAX_BATCH),
            "ARTIMUSE_QUEUE_SIZE": str(QUEUE_SIZE),
            "ARTIMUSE_MAX_UPLOAD_MB": "1",
            "ARTIMUSE_AUTO_DOWNLOAD": "1",  # as on a Space: a hub id would be fetched
            "HF_ENDPOINT": hub.url,
            "HF_HUB_DISABLE_TELEMETRY": "1",
        }
        with WebAppProcess(root / "app", env) as app:
            app.hub, app.ckpt = hub, ckpt
            yield app


@pytest.fixture(scope="module")
def peer(public):
    client = GradioPeer(public.url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def reference(public) -> dict | str:
    """The tiny model's answer before any stranger came (waiting while it loads), or why
    there is none (the model test fails on it; the others go on)."""
    try:
        return wait_for(lambda: ready_score(public, picture(42)), 120, public)
    except Exception as error:
        return f"no /score answer: {error}"


@pytest.fixture(scope="module")
def barrage(public, peer, reference):
    """A victim assesses a photo; then the stranger calls every event with every hostile
    value, by index (queue and run/predict) and by name. What the tests below look at."""
    config = peer.config()
    before = {
        "visible": visible_state(config),
        "cwd": files_under(public.cwd),
        "home": files_under(public.home),
        "ckpt": files_under(public.ckpt),
        "tmp": files_under(public.tmp),
        "log": len(public.log_text().encode()),
    }
    token = secrets.token_hex(5)
    victim_name, victim_session = f"victim-{token}.png", session()
    victim_file = peer.upload(victim_name, picture(1))
    victim_runs = [(i, legit_arguments(config, i, [victim_file]))
                   for i in ui_dependencies(config, "assess-image")]
    victim = peer.join_many(victim_runs, victim_session)
    values = hostile_values(
        [str(public.ckpt), "/etc/passwd", "../../../etc/passwd", str(public.ckpt / "config.json")],
        [*HUB_REPOS, f"{public.hub.url}/{HUB_REPOS[1]}"],
        [victim_session],
    )
    calls = []
    for index, dependency in enumerate(config["dependencies"]):
        for profile, (text, file) in values.items():
            calls.append((index, profile, "join", arguments(config, dependency, text, file)))
        data = arguments(config, dependency, *values["hub_id"])
        calls.append((index, "hub_id", "predict", data))
        calls.append((index, "too_many", "join", ["x"] * 50))
        name = dependency.get("api_name")
        if name and dependency.get("api_visibility", "public") == "public":
            for profile in ("hub_id", "newline"):
                data = arguments(config, dependency, *values[profile])
                calls.append((index, profile, f"call /{name}", data))

    def send(call):
        index, profile, route, data = call
        if route == "join":
            return index, profile, route, peer.join(index, data)
        if route == "predict":
            return index, profile, route, peer.predict(index, data)
        return index, profile, route, peer.call(route.removeprefix("call /"), data)

    outcomes = [send(call) for call in calls]  # one at a time: the machine has 2 cores
    return {"config": config, "before": before, "victim": victim, "victim_name": victim_name,
            "outcomes": outcomes}


def test_the_stranger_reaches_every_event(barrage):
    """The calls below are not all turned away at the door (a wrong body, a dead server):
    every event was joined at least once, so its handler saw the hostile values."""
    admitted = {i for i, _, route, o in barrage["outcomes"] if route == "join" and o.status == 200}
    assert admitted == set(range(len(barrage["config"]["dependencies"])))


def test_no_request_reaches_the_hub(public, barrage):
    assert public.hub.requests == [], [r.path for r in public.hub.requests[:10]]


def test_no_folder_is_written(public, barrage):
    before = barrage["before"]
    for place, folder in (("cwd", public.cwd), ("home", public.home), ("ckpt", public.ckpt)):
        assert files_under(folder) == before[place], f"{place}: {folder} changed"
    tmp = files_under(public.tmp)
    new = {path: size for path, size in tmp.items() if before["tmp"].get(path) != size}
    uploaded = {p for p in new if "victim-" in p}  # the victim's own upload
    kept = {p: s for p, s in new.items() if p not in uploaded}
    assert sum(kept.values()) <= TEMP_BUDGET, sorted(kept.items())[:20]


def test_what_every_visitor_sees_is_unchanged(peer, barrage):
    assert visible_state(peer.config()) == barrage["before"]["visible"]


def test_no_stranger_learns_what_the_victim_did(barrage):
    victim = barrage["victim"]
    assert victim and all(o.success for o in victim), [o.error for o in victim]
    leaks = [(i, profile, route) for i, profile, route, outcome in barrage["outcomes"]
             if barrage["victim_name"] in outcome.raw]
    assert not leaks, leaks[:10]


def test_the_model_is_unchanged_and_still_serves(public, reference, barrage):
    assert public.alive()
    assert isinstance(reference, dict), reference
    assert score(public, picture(42)) == reference  # the same model, for every visitor


def test_a_flooding_visitor_leaves_room_for_a_second(public, peer, barrage):
    config = barrage["config"]
    assess = ui_dependencies(config, "assess-image")
    assert assess, "no event takes the picture"
    flood_session = session()
    files = [peer.upload(f"flood-{i}.png", picture(100 + i)) for i in range(FLOOD)]
    calls = [(assess[-1], legit_arguments(config, assess[-1], [f])) for f in files]
    outcomes, waiting = peer.submit(calls, flood_session)
    try:
        served = score(public, picture(7), "second-visitor.png")  # while the flood is queued
    finally:
        peer.collect(flood_session, waiting)
    assert 0 <= served["total_score"] <= 100


# --- the caps a visitor cannot lift --------------------------------------------------------


def test_comment_length_beyond_the_offered_choices_is_refused(public):
    from gradio_client import Client, handle_file

    path = public.root / "length.png"
    path.write_bytes(picture(3))
    client = Client(public.url, verbose=False)
    fine = client.predict(image=handle_file(str(path)), api_name="/assess")
    assert "total_score" in (fine if isinstance(fine, dict) else json.loads(fine))
    for hostile in (CAP_TOKENS + 1, 3000, 10**30, -1, "64"):
        with pytest.raises(Exception):  # noqa: B017 gradio_client's AppError (its type varies)
            client.predict(
                image=handle_file(str(path)), comment_length=hostile, api_name="/assess"
            )


@pytest.mark.parametrize("elem_id, cap", [("batch-files", MAX_BATCH), ("compare-files", 4)])
def test_batch_and_compare_take_no_more_than_their_caps(peer, elem_id, cap):
    config = peer.config()
    events = [i for i in ui_dependencies(config, elem_id)
              if any(t[1] == "click" for t in config["dependencies"][i]["targets"])]
    assert events, f"no event takes {elem_id}"
    names = [f"{elem_id}-{secrets.token_hex(3)}-{n}.png" for n in range(cap + 2)]
    files = [peer.upload(name, picture(200 + n)) for n, name in enumerate(names)]
    raw = "".join(peer.join(i, legit_arguments(config, i, files)).raw for i in events)
    assert sum(name in raw for name in names) <= cap


def test_server_files_cannot_be_fetched(public, peer):
    for path in ("/etc/passwd", str(public.ckpt / "config.json"), str(public.log)):
        answer = peer.http.get(f"/gradio_api/file={path}")
        assert answer.status_code in (403, 404), path
