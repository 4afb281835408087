"""The `artimuse` command, run in-process in tmp_path."""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import stats

from artimuse import __version__, cli
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


# --- output: JSON lists and lines, folders, progress, failure reasons ------------------------


def test_assess_json_is_one_list_and_jsonl_one_object_a_line(toy, tiny_model, monkeypatch,
                                                              capsys):
    use_model(monkeypatch, tiny_model)
    images = ["test_datasets/toy/images/a.png", "test_datasets/toy/images/broken.png"]
    code, out, _ = run(["assess", *images, "--out", "out", "--json"], capsys)
    rows = json.loads(out)
    assert code == 1 and [row["image"] for row in rows] == images
    assert rows[0]["result_file"] == str(Path("out/a_tiny-a_eval.json"))
    assert list(rows[0]["Aesthetic Attributes"]) == list(ASPECTS)
    assert "corrupt" in rows[1]["error"] or "not an image" in rows[1]["error"]
    code, out, _ = run(["assess", *images, "--out", "out", "--jsonl"], capsys)
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and [line["image"] for line in lines] == images


def test_score_json_and_jsonl_are_the_same_rows(toy, monkeypatch, capsys):
    use_model(monkeypatch, BrightnessModel())
    images = ["test_datasets/toy/images/a.png", "test_datasets/toy/images/b.png"]
    listed = json.loads(run(["score", *images, "--json"], capsys)[1])
    lines = [json.loads(line) for line in run(["score", *images, "--jsonl"], capsys)[1].split("\n")
             if line]
    assert listed == lines and [row["image"] for row in lines] == images
    with pytest.raises(SystemExit) as refused:  # one or the other
        cli.main(["score", *images, "--json", "--jsonl"])
    assert refused.value.code == 2 and "not allowed with" in capsys.readouterr().err


def test_score_a_folder_scores_its_images_sorted(toy, monkeypatch, capsys):
    model = BrightnessModel()
    use_model(monkeypatch, model)
    folder = toy / "test_datasets/toy/images"
    (folder / "notes.txt").write_text("not an image")
    code, out, _ = run(["score", str(folder), "--json"], capsys)
    names = ["a.png", "b.png", "broken.png", "d.png", "e.png", "f.png"]  # sub/ is not entered
    assert [Path(row["image"]).name for row in json.loads(out)] == names
    assert code == 1  # broken.png
    empty = toy / "empty"
    empty.mkdir()
    code, _, err = run(["score", str(empty)], capsys)
    assert code == 2 and f"{empty} is a folder with no images in it" in err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_assess_shows_progress_on_a_terminal_only(toy, tiny_model, monkeypatch, capsys):
    use_model(monkeypatch, tiny_model)
    argv = ["assess", "test_datasets/toy/images/a.png", "--out", "out"]
    _, _, err = run(argv, capsys)
    assert "comments" not in err and "saved out" in err  # a pipe: no progress line
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert cli.main(argv) == 0
    shown = terminal.getvalue()
    assert "a.png: scores [" in shown
    assert re.search(r"a\.png: score \d+\.\d; comments 0 of 8 done", shown)
    assert "comments 8 of 8 done" in shown
    assert shown.rstrip().endswith(f"saved {Path('out/a_tiny-a_eval.json')}")


def test_assess_help_says_where_the_result_files_go(capsys):
    with pytest.raises(SystemExit):
        cli.main(["assess", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "<stem>_<model>_eval.json" in text and "results/image_results" in text


def test_eval_names_the_failures_and_where_the_reasons_are(toy, monkeypatch, capsys):
    use_model(monkeypatch, BrightnessModel())
    code, out, _ = run(["eval", "--dataset", "toy", "--ckpt", "m"], capsys)
    assert code == 0
    assert "failed   2 entries, every reason in results/dataset_results/toy_m.metrics.json" in out
    assert "  absent.jpg: missing" in out and "  broken.png: unreadable (" in out


# --- settings at start, help ----------------------------------------------------------------


def test_a_bad_limit_variable_is_a_setting_error_before_loading(toy, monkeypatch, capsys):
    monkeypatch.setattr(cli_model, "load_model", lambda args: pytest.fail("model loaded"))
    monkeypatch.setenv("ARTIMUSE_MAX_PIXELS", "1e6")
    monkeypatch.setenv("ARTIMUSE_MAX_SIDE", "abc")
    monkeypatch.setenv("ARTIMUSE_BODY_TIMEOUT", "abc")  # REST only: `score` does not read it
    code, out, err = run(["score", "test_datasets/toy/images/a.png"], capsys)
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "artimuse score: error: ARTIMUSE_MAX_PIXELS must be an integer, got '1e6'",
        "artimuse score: error: ARTIMUSE_MAX_SIDE must be an integer, got 'abc'",
    ]
    monkeypatch.setenv("ARTIMUSE_MAX_SIDE", "100")
    monkeypatch.setenv("ARTIMUSE_MAX_PIXELS", "0")
    code, _, err = run(["eval", "--dataset", "toy"], capsys)
    assert code == 2 and err == "artimuse eval: error: ARTIMUSE_MAX_PIXELS must be >= 1, got 0\n"


def test_a_bad_port_variable_does_not_stop_other_commands(toy, monkeypatch, capsys):
    use_model(monkeypatch, BrightnessModel())
    monkeypatch.setenv("PORT", "abc")
    assert run(["score", "test_datasets/toy/images/a.png"], capsys)[0] == 0


def _help(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as done:
        cli.main([*argv, "--help"])
    assert done.value.code == 0
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("command", ["score", "assess", "eval", "serve"])
def test_every_argument_has_help_and_each_command_names_its_variables(command, capsys):
    text = _help([command], capsys)
    assert text.startswith(f"usage: artimuse {command} ")
    listed = set(re.findall(r"\b(ARTIMUSE_[A-Z_]+|HOST|PORT|RAY_ADDRESS)\b",
                            text.split("Environment:")[1]))
    assert listed == set(cli.VARIABLES_OF[command])
    parser = cli._parser()._subparsers._group_actions[0].choices[command]
    for action in parser._actions:
        assert action.help, f"{command} {action.option_strings or action.dest} has no help"
        if action.default not in (None, False, argparse.SUPPRESS) and action.dest != "help":
            assert "default" in action.help, f"{command} {action.dest}: default not shown"


def test_api_help_is_its_own_and_lists_the_api_key(capsys):
    text = _help(["api"], capsys)
    assert text.startswith("usage: artimuse api ") and "ARTIMUSE_API_KEY" in text
    assert "ARTIMUSE_AUTO_DOWNLOAD" not in text  # the web app's, not the REST service's


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out == f"artimuse {__version__}\n"
    with pytest.raises(SystemExit):
        cli.main(["api", "--version"])
    assert capsys.readouterr().out == f"artimuse api {__version__}\n"
