"""The `artimuse` command, run in-process in tmp_path."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import stats

from artimuse import cli
from artimuse.cli import model as cli_model
from artimuse.config import settings_from_args
from artimuse.errors import CheckpointNotFound
from artimuse.images import ImageError, open_image
from artimuse.prompts import ASPECTS
from artimuse.results import Scores

# grey level of each image and its ground truth on a 1-10 scale; 3 and 4 swapped on purpose
LEVELS = {"a.png": 30, "b.png": 90, "sub/c.png": 150, "d.png": 210, "e.png": 240, "f.png": 60}
TRUTH = {"a.png": 2.0, "b.png": 4.1, "sub/c.png": 7.9, "d.png": 6.0, "e.png": 9.5, "f.png": 3.3}


def make_dataset(root: Path, name: str = "toy", extra: list | None = None) -> Path:
    images = root / "test_datasets" / name / "images"
    for image, level in LEVELS.items():
        (images / image).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (12, 10), (level, level, level)).save(images / image)
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    entries = [{"image": i, "gt_score": TRUTH[i]} for i in LEVELS]
    entries += [{"image": "absent.jpg", "gt_score": 5.0}, {"image": "broken.png", "gt_score": 1.0}]
    (images.parent / "test.json").write_text(json.dumps(entries + (extra or [])))
    return images.parent


class BrightnessModel:
    """Scores an image by its mean grey level: instant and deterministic."""

    def __init__(self, stop_after: int | None = None):
        self.stop_after, self.scored = stop_after, []

    def score_many(self, images, batch_size=8, aspects=False, workers=2):
        for path in images:
            if len(self.scored) == self.stop_after:
                raise KeyboardInterrupt  # as if Ctrl-C arrived here
            try:
                image = open_image(path)
            except ImageError as error:
                yield error
                continue
            self.scored.append(path)
            yield Scores(float(np.asarray(image).mean()) / 2.55, (1.0,) + (0.0,) * 100)


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def toy(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_dataset(tmp_path)
    return tmp_path


def use_model(monkeypatch, model) -> None:
    monkeypatch.setattr(cli_model, "load_model", lambda args: model)


# --- eval -----------------------------------------------------------------------------------


def test_eval_prints_scipys_metrics_of_the_written_scores(
    toy, tiny_a, tiny_model, monkeypatch, capsys
):
    use_model(monkeypatch, tiny_model)
    code, out, _ = run(["eval", "--dataset", "toy", "--ckpt", str(tiny_a), "--json"], capsys)
    assert code == 0
    printed = json.loads(out)
    written = json.loads(Path("results/dataset_results/toy_tiny-a.json").read_text())
    assert [row["image"] for row in written] == list(LEVELS)  # test.json order, failures out
    scores, truth = [row["score"] for row in written], [TRUTH[row["image"]] for row in written]
    assert printed["srcc"] == stats.spearmanr(scores, truth).statistic
    assert printed["plcc"] == stats.pearsonr(scores, truth).statistic
    assert printed["krcc"] == stats.kendalltau(scores, truth).statistic
    assert printed["counts"] == {
        "entries": 8, "scored": 6, "missing": 1, "unreadable": 1,
        "outside": 0, "failed": 0,
    }
    assert {f["image"]: f["error"] for f in printed["failures"]} == {
        "absent.jpg": "missing",
        "broken.png": "unreadable",
    }


def test_eval_table_with_the_seed_flags(toy, monkeypatch, capsys):
    use_model(monkeypatch, BrightnessModel())
    code, out, _ = run(["eval", "--dataset", "toy", "--model_name", "ArtiMuse_AVA"], capsys)
    assert code == 0
    assert Path("results/dataset_results/toy_ArtiMuse_AVA.json").is_file()
    srcc = stats.spearmanr([LEVELS[i] for i in LEVELS], list(TRUTH.values())).statistic
    assert f"SRCC     {srcc:.4f}" in out
    assert "6 of 8 entries scored (1 missing, 1 unreadable)" in out


def test_interrupted_then_resumed_equals_one_run(toy, monkeypatch, capsys):
    one_run = ["eval", "--dataset", "toy", "--ckpt", "m", "--out-dir", "once"]
    use_model(monkeypatch, BrightnessModel())
    assert run(one_run, capsys)[0] == 0

    resumed = ["eval", "--dataset", "toy", "--ckpt", "m", "--out-dir", "twice"]
    use_model(monkeypatch, BrightnessModel(stop_after=3))
    code, _, err = run(resumed, capsys)
    assert code == 130 and "run the same command" in err
    assert not Path("twice/toy_m.json").exists()
    second = BrightnessModel()
    use_model(monkeypatch, second)
    assert run(resumed, capsys)[0] == 0
    assert len(second.scored) == len(LEVELS) - 3  # only what the first run had not done
    assert Path("twice/toy_m.json").read_bytes() == Path("once/toy_m.json").read_bytes()


def test_a_finished_run_is_not_scored_again(toy, monkeypatch, capsys):
    use_model(monkeypatch, BrightnessModel())
    run(["eval", "--dataset", "toy", "--ckpt", "m"], capsys)
    monkeypatch.setattr(cli_model, "load_model", lambda *a, **k: pytest.fail("model loaded again"))
    (toy / "test_datasets/toy/images/broken.png").unlink()  # failed ones are retried...
    (toy / "test_datasets/toy/test.json").write_text(
        json.dumps([{"image": i, "gt_score": TRUTH[i]} for i in LEVELS])  # ...unless gone
    )
    assert run(["eval", "--dataset", "toy", "--ckpt", "m"], capsys)[0] == 0


def test_malformed_test_json_is_a_clear_error(toy, monkeypatch, capsys):
    monkeypatch.setattr(cli_model, "load_model", lambda *a, **k: pytest.fail("model loaded"))
    (toy / "test_datasets/toy/test.json").write_text('[{"image": "a.png", "gt_score": 3},')
    code, _, err = run(["eval", "--dataset", "toy"], capsys)
    assert code == 2 and "test.json is not valid JSON" in err
    code, _, err = run(["eval", "--test-json", "nowhere/test.json", "--images", "."], capsys)
    assert code == 2 and "nowhere/test.json not found" in err
    code, _, err = run(["eval"], capsys)
    assert code == 2 and "--dataset NAME" in err


def test_test_json_and_images_outside_test_datasets(toy, monkeypatch, capsys):
    use_model(monkeypatch, BrightnessModel())
    folder = toy / "test_datasets/toy"
    argv = [
        "eval",
        "--test-json",
        str(folder / "test.json"),
        "--images",
        str(folder / "images"),
        "--ckpt",
        "m",
        "--limit",
        "3",
        "--json",
    ]
    code, out, _ = run(argv, capsys)
    assert code == 0 and json.loads(out)["counts"]["entries"] == 3


# --- score and assess -----------------------------------------------------------------------


def test_score_loads_the_checkpoint_and_prints_a_table(toy, tiny_a, capsys):
    image = "test_datasets/toy/images/a.png"
    argv = [
        "score",
        image,
        "test_datasets/toy/images/broken.png",
        "--ckpt",
        str(tiny_a),
        "--device",
        "cpu",
        "--dtype",
        "float32",
    ]
    code, out, _ = run(argv, capsys)
    lines = out.splitlines()
    assert code == 1  # one image could not be read
    assert lines[0].split()[:4] == ["image", "score", "±std", "band"]
    assert lines[1].startswith(image) and "broken.png" in lines[2] and "error:" in lines[2]


def test_score_json_with_aspects(toy, tiny_model, monkeypatch, capsys):
    use_model(monkeypatch, tiny_model)
    code, out, _ = run(["score", "test_datasets/toy/images/a.png", "--json", "--aspects"], capsys)
    (row,) = json.loads(out)
    assert code == 0 and len(row["aspect_scores"]) == 7 and len(row["score_distribution"]) == 101


def test_assess_writes_the_seed_file(toy, tiny_a, tiny_model, monkeypatch, capsys):
    use_model(monkeypatch, tiny_model)
    argv = ["assess", "--image_path", "test_datasets/toy/images/a.png", "--out", "out"]
    code, out, err = run(argv + ["--ckpt", str(tiny_a)], capsys)
    saved = json.loads(Path("out/a_tiny-a_eval.json").read_text(encoding="utf-8"))
    assert code == 0 and "saved out/a_tiny-a_eval.json" in err
    assert list(saved) == ["Aesthetic Score", "Aesthetic Attributes"]
    assert list(saved["Aesthetic Attributes"]) == list(ASPECTS)
    assert "Aesthetic score" in out


def test_seed_flags_name_the_checkpoint_and_device(monkeypatch, capsys):
    seen = {}

    def fake_load(args):
        seen.update(ckpt=settings_from_args(args).ckpt, device=args.device)
        raise CheckpointNotFound("checkpoint directory not found: checkpoints/ArtiMuse")

    monkeypatch.setattr(cli_model, "load_model", fake_load)
    argv = ["assess", "--model_name", "ArtiMuse", "--image_path", "x.jpg", "--device", "cuda:0"]
    code, _, err = run(argv, capsys)
    assert seen == {"ckpt": str(Path("checkpoints/ArtiMuse")), "device": "cuda:0"}
    assert code == 2 and "checkpoint directory not found" in err


# --- servers --------------------------------------------------------------------------------


def test_api_and_ui_hand_over_the_rest_of_the_line(monkeypatch):
    calls = []
    monkeypatch.setattr("artimuse.rest.app.main", lambda argv: calls.append(("api", argv)))
    webapp = types.ModuleType("artimuse.webapp.app")
    webapp.main = lambda argv: calls.append(("ui", argv))
    monkeypatch.setitem(sys.modules, "artimuse.webapp.app", webapp)
    assert cli.main(["api", "--port", "9000"]) == 0
    assert cli.main(["ui", "--share"]) == 0
    assert calls == [("api", ["--port", "9000"]), ("ui", ["--share"])]
