"""Hostile inputs against the REST service (its test client) and the CLI (in process), on a
fast random checkpoint (56 px input, one layer each: the model's time is not under test): no 5xx
and no crash, a 4xx with a message for every refusal, a result for every valid image, and the
same verdict from every front end."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

import artimuse
from artimuse import cli
from artimuse.cli import model as cli_model
from artimuse.config import ServiceSettings
from artimuse.images import ORIENTATION_IGNORED
from artimuse.rest.app import create_app
from artimuse.testing.checkpoints import CheckpointSpec, make_checkpoint
from artimuse.testing.hostile import EITHER, REFUSE, VALID, hostile_inputs

INPUTS = hostile_inputs(seed=10)
BY_NAME = {h.name: h for h in INPUTS}
BATCH = 16


FAST = CheckpointSpec(image_size=56, vision_layers=1, llm_layers=1, dtype="float32", seed=3)


@pytest.fixture(scope="module")
def fast_model(tmp_path_factory):
    path = make_checkpoint(tmp_path_factory.mktemp("fuzz") / "fast", FAST)
    return artimuse.load(str(path), device="cpu", dtype="float32", max_new_tokens=4)


@pytest.fixture(scope="module")
def client(fast_model):
    with TestClient(create_app(fast_model, ServiceSettings()), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def answers(client) -> dict[str, tuple[int, dict]]:
    """name -> the status and body /score gave it (every input is sent once)."""
    answers = {}
    for hostile in INPUTS:
        response = client.post("/score", files={"file": (hostile.name, hostile.data)})
        answers[hostile.name] = response.status_code, response.json()
    return answers


@pytest.fixture(scope="module")
def verdicts(answers) -> dict[str, int]:
    return {name: status for name, (status, _) in answers.items()}


def check_answer(hostile, status: int, body: dict) -> None:
    assert status < 500, (hostile.name, status, body)
    if status == 200:
        assert hostile.expect != REFUSE, hostile.name
        assert 0 <= body["total_score"] <= 100 and isinstance(body["warnings"], list)
    else:
        assert 400 <= status < 500 and hostile.expect != VALID, (hostile.name, status, body)
        assert isinstance(body["detail"], str) and body["detail"], hostile.name


def test_there_are_enough_of_every_kind():
    kinds = {h.name.split("/")[0] for h in INPUTS}
    assert len(INPUTS) >= 300
    assert {"truncated", "mutated", "bomb", "animated", "mode", "polyglot", "exif"} <= kinds
    assert {h.name.split("#")[0] for h in INPUTS if h.name.startswith("exif/")} == {
        "exif/png",
        "exif/webp",
        "exif/jpeg",
    }


def test_score_answers_every_input_with_a_result_or_a_reason(answers):
    for hostile in INPUTS:
        check_answer(hostile, *answers[hostile.name])


def test_a_corrupt_exif_block_is_scored_and_said(answers):
    for name in ("exif/png#0", "exif/webp#0"):  # b"XX*\0": no TIFF byte order at all
        status, body = answers[name]
        assert status == 200 and body["warnings"] == [ORIENTATION_IGNORED], body


def test_infer_and_the_stream_on_a_sample(client, verdicts):
    for hostile in INPUTS[::12]:
        response = client.post("/infer", files={"file": (hostile.name, hostile.data)})
        check_answer(hostile, response.status_code, response.json())
        assert response.status_code == verdicts[hostile.name]
        with client.stream("POST", "/infer/stream", files={"file": ("x", hostile.data)}) as r:
            assert r.status_code == verdicts[hostile.name]
            lines = [json.loads(line) for line in r.iter_lines() if line]
        if r.status_code == 200:
            assert lines[-1]["event"] == "done" and "error" not in {x["event"] for x in lines}


def test_batches_answer_per_file_as_score_does(client, verdicts):
    for start in range(0, len(INPUTS), BATCH):
        chunk = INPUTS[start : start + BATCH]
        files = [("files", (h.name, h.data)) for h in chunk]
        response = client.post("/score/batch", files=files)
        assert response.status_code == 200, response.json()
        results = response.json()["results"]
        assert [r["filename"] for r in results] == [h.name for h in chunk]
        for hostile, result in zip(chunk, results, strict=True):
            assert result["status"] == verdicts[hostile.name], hostile.name
            check_answer(hostile, result["status"], result)


def test_the_cli_gives_the_same_verdicts(fast_model, verdicts, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli_model, "load_model", lambda args: fast_model)
    paths = []
    for index, hostile in enumerate(INPUTS):
        path = tmp_path / f"{index:03d}.img"
        path.write_bytes(hostile.data)
        paths.append(str(path))
    code = cli.main(["score", *paths, "--json"])
    out, err = capsys.readouterr()
    rows = json.loads(out)
    assert code == 1 and len(rows) == len(INPUTS)  # 1: some inputs were refused
    for hostile, row in zip(INPUTS, rows, strict=True):
        refused = "error" in row
        assert refused == (verdicts[hostile.name] != 200), (hostile.name, row)
        assert not refused or row["error"]
        assert hostile.expect == EITHER or refused == (hostile.expect == REFUSE), hostile.name
    assert "Traceback" not in err and "UserWarning" not in err and "Corrupt EXIF" not in err
    assert err.count(ORIENTATION_IGNORED) == sum(
        ORIENTATION_IGNORED in row.get("warnings", ()) for row in rows
    ) > 0


def test_eval_over_hostile_files_finishes_and_counts(fast_model, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli_model, "load_model", lambda args: fast_model)
    monkeypatch.chdir(tmp_path)
    images = tmp_path / "set" / "images"
    images.mkdir(parents=True)
    entries = []
    for index, hostile in enumerate(INPUTS[::3]):
        (images / f"{index:03d}.img").write_bytes(hostile.data)
        entries.append({"image": f"{index:03d}.img", "gt_score": float(index % 7)})
    entries += [{"image": "/etc/passwd", "gt_score": 1.0}, {"image": "../x.png", "gt_score": 2.0}]
    (tmp_path / "set" / "test.json").write_text(json.dumps(entries))
    argv = ["eval", "--test-json", "set/test.json", "--images", "set/images", "--json"]
    assert cli.main(argv) == 0
    counts = json.loads(capsys.readouterr().out)["counts"]
    assert counts["entries"] == len(entries) and counts["outside"] == 2
    assert counts["scored"] + counts["unreadable"] + counts["outside"] == len(entries)
