"""`artimuse eval --ray`: the one-process eval's files and numbers, on a local Ray."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from artimuse import cli
from artimuse.evaluation import ProgressLog, pending, read_dataset
from tests.helpers import TINY_A

pytestmark = pytest.mark.ray
GOOD = [f"img{i}.png" for i in range(7)]
# batches of 3 in this order mix good images with the corrupt one and a missing one
ENTRIES = ["img0.png", "broken.png", "img1.png", "img2.png", "absent.jpg", "img3.png"]
ENTRIES += ["img4.png", "img0.png", "img5.png", "img6.png"]  # img0 twice: scored once
ENTRIES += ["../test.json"]  # outside the images folder: refused


@pytest.fixture()
def one_thread():
    """The one-process reference on one torch thread, as each of 2 actors on LOCAL_CPUS gets:
    CPU float32 kernels split their sums by thread count, which moves the last bits."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture()
def dataset_dir(tmp_path) -> Path:
    images = tmp_path / "set" / "images"
    images.mkdir(parents=True)
    rng = np.random.default_rng(7)
    for i, name in enumerate(GOOD):
        pixels = rng.integers(0, 256, (40 + 9 * i, 56, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(images / name)
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    truth = [{"image": name, "gt_score": float(i % 5)} for i, name in enumerate(ENTRIES)]
    (tmp_path / "set" / "test.json").write_text(json.dumps(truth))
    return tmp_path / "set"


def eval_argv(dataset_dir: Path, out: Path, *extra: str) -> list[str]:
    return [
        "eval",
        "--test-json",
        str(dataset_dir / "test.json"),
        "--images",
        str(dataset_dir / "images"),
        "--ckpt",
        str(TINY_A),
        "--device",
        "cpu",
        "--dtype",
        "float32",
        "--batch-size",
        "3",
        "--out-dir",
        str(out),
        "--json",
        *extra,
    ]


def run(argv: list[str], capsys) -> dict:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_two_workers_give_the_one_process_files_exactly(
    local_ray, one_thread, dataset_dir, tmp_path, capsys
):
    alone = run(eval_argv(dataset_dir, tmp_path / "alone"), capsys)
    on_ray = run(eval_argv(dataset_dir, tmp_path / "ray", "--ray", "--workers", "2"), capsys)

    assert alone["counts"] == {
        "entries": 11,
        "scored": 8,
        "missing": 1,
        "unreadable": 1,
        "outside": 1,
        "failed": 0,
    }
    results = "set_tiny-a.json"
    assert (tmp_path / "ray" / results).read_bytes() == (tmp_path / "alone" / results).read_bytes()
    drop_paths = lambda summary: {k: v for k, v in summary.items() if k not in PATH_KEYS}  # noqa: E731
    assert drop_paths(on_ray) == drop_paths(alone)  # metrics, counts, failures and their messages
    progress = "set_tiny-a.progress.jsonl"
    assert (
        ProgressLog(tmp_path / "ray" / progress).read()
        == ProgressLog(tmp_path / "alone" / progress).read()
    )


PATH_KEYS = ("results", "metrics", "progress")


def test_a_resumed_run_on_ray_scores_only_what_is_missing(
    local_ray, one_thread, dataset_dir, tmp_path, capsys
):
    run(eval_argv(dataset_dir, tmp_path / "whole"), capsys)
    progress = "set_tiny-a.progress.jsonl"
    done = (tmp_path / "whole" / progress).read_text().splitlines()
    for out in ("alone", "ray"):  # the same interrupted run, resumed each way
        (tmp_path / out).mkdir()
        (tmp_path / out / progress).write_text("\n".join(done[:4]) + '\n{"image": "img5.p')
    dataset = read_dataset(dataset_dir / "test.json", dataset_dir / "images")
    todo = pending(dataset, ProgressLog(tmp_path / "ray" / progress).read())

    run(eval_argv(dataset_dir, tmp_path / "alone"), capsys)
    resumed = run(eval_argv(dataset_dir, tmp_path / "ray", "--ray", "--workers", "2"), capsys)

    assert 0 < len(todo) < 10 and resumed["counts"]["scored"] == 8  # 10 distinct images
    lines = (tmp_path / "ray" / progress).read_text().splitlines()
    assert lines[:4] == done[:4] and len(lines) == 4 + len(todo)  # each missing one, once
    results = "set_tiny-a.json"
    assert (tmp_path / "ray" / results).read_bytes() == (tmp_path / "alone" / results).read_bytes()
