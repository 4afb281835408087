"""Per-item isolation and the other issue-10 guarantees: an unexpected failure costs one item
(recorded with its reason, logged with its traceback), never the rest of a batch or a run."""

from __future__ import annotations

import io
import json
import logging
import struct

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from artimuse import cli
from artimuse.cli import model as cli_model
from artimuse.config import ServiceSettings
from artimuse.errors import ItemFailed
from artimuse.evaluation import ProgressLog, read_dataset, score_dataset
from artimuse.images import ORIENTATION_IGNORED, PreparedImage, image_warnings, open_image
from artimuse.rest.app import create_app
from artimuse.results import Scores
from artimuse.testing.hostile import png_chunk

POISON = 7.0  # pixel value that makes the patched engine fail


def png(colour=(10, 200, 30), size=(8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def broken_exif_png() -> bytes:
    """The issue's repro: an eXIf chunk b'XX*\\0' + 4 zero bytes (correct CRC) before IEND."""
    data, exif = png(), b"XX*\x00" + b"\x00" * 4
    return data[:-12] + png_chunk(b"eXIf", exif) + data[-12:]


def broken_exif_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buffer, "JPEG")
    data, segment = buffer.getvalue(), b"Exif\x00\x00XX*\x00" + b"\x00" * 4
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment + data[2:]


def test_a_corrupt_exif_block_keeps_the_pixels_and_says_so():
    image = open_image(broken_exif_png())
    assert image.size == (8, 8) and image.getpixel((0, 0)) == (10, 200, 30)
    assert image_warnings(image) == (ORIENTATION_IGNORED,)
    assert open_image(broken_exif_jpeg()).size == (8, 8)


def test_an_image_is_decoded_once(monkeypatch):
    image = open_image(png())
    import artimuse.images as images

    monkeypatch.setattr(images, "_decode", lambda *a: pytest.fail("decoded again"))
    monkeypatch.setattr(images, "_upright", lambda *a: pytest.fail("EXIF read again"))
    assert open_image(image) is image
    assert images.prepare_image(image, 28).pixels.shape == (1, 3, 28, 28)


def test_sixteen_bit_conversion_matches_the_float_rounding_on_every_value():
    values = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    buffer = io.BytesIO()
    Image.fromarray(values).save(buffer, "PNG")
    got = np.asarray(open_image(buffer.getvalue()))[..., 0]
    assert (got == np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8)).all()


def test_the_longest_side_is_bounded(monkeypatch):
    from artimuse.errors import ImageError

    monkeypatch.setenv("ARTIMUSE_MAX_SIDE", "100")
    with pytest.raises(ImageError, match=r"1x101, the longest side may be at most 100 "):
        open_image(png(size=(1, 101)))
    assert open_image(png(size=(1, 100))).size == (1, 100)


# --- score_many isolates a failing item -------------------------------------------------------


@pytest.fixture
def poisoned(tiny_model, monkeypatch):
    """tiny_model whose engine raises on a batch holding the POISON pixels."""
    prefill = tiny_model.engine.prefill

    def failing(pixels):
        if bool((pixels == POISON).flatten(1).all(1).any()):
            raise RuntimeError("kernel exploded")
        return prefill(pixels)

    monkeypatch.setattr(tiny_model.engine, "prefill", failing)
    return tiny_model


def test_score_many_isolates_an_unexpected_failure(poisoned, caplog):
    size = poisoned.image_size
    poison = PreparedImage(torch.full((1, 3, size, size), POISON))
    with caplog.at_level(logging.ERROR, logger="artimuse.api"):
        results = list(poisoned.score_many([png(), poison, png((0, 0, 255))], batch_size=3))
    assert isinstance(results[0], Scores) and isinstance(results[2], Scores)
    assert isinstance(results[1], ItemFailed) and "kernel exploded" in str(results[1])
    assert any(r.exc_info for r in caplog.records)  # logged with its traceback


def test_score_many_isolates_a_failing_decode(tiny_model, caplog):
    class Exploding:  # not an image: something that fails in a way nobody planned
        def read(self):
            raise RuntimeError("disk on fire")

    with caplog.at_level(logging.ERROR, logger="artimuse.api"):
        results = list(tiny_model.score_many([Exploding(), png()]))
    assert isinstance(results[0], ItemFailed) and "disk on fire" in str(results[0])
    assert isinstance(results[1], Scores)


# --- REST ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(tiny_model):
    with TestClient(create_app(tiny_model, ServiceSettings()), raise_server_exceptions=False) as c:
        yield c


def test_two_file_parts_are_refused_with_a_reason(client):
    files = [("file", ("a.png", png())), ("file", ("b.png", png((0, 0, 0))))]
    response = client.post("/score", files=files)
    assert response.status_code == 422
    assert "send one image in the `file` field, got 2" in response.json()["detail"]


def test_broken_exif_is_scored_by_every_endpoint_and_said(client):
    for path in ("/score", "/infer"):
        response = client.post(path, files={"file": ("a.png", broken_exif_png())})
        assert response.status_code == 200 and response.json()["warnings"] == [ORIENTATION_IGNORED]
    batch = client.post(
        "/score/batch", files=[("files", ("a.png", broken_exif_png())), ("files", ("b.png", png()))]
    ).json()
    assert [r["status"] for r in batch["results"]] == [200, 200]
    assert batch["results"][0]["warnings"] == [ORIENTATION_IGNORED]


def test_meta_names_the_checkpoint_without_its_path(client, tiny_model):
    meta = client.get("/meta").json()
    assert meta["checkpoint"] == "tiny-a" and str(tiny_model.path.parent) not in json.dumps(meta)


def test_a_format_the_service_refuses_the_cli_refuses(client, tiny_model, tmp_path, capsys,
                                                      monkeypatch):
    monkeypatch.setattr(cli_model, "load_model", lambda args: tiny_model)
    path = tmp_path / "a.ppm"
    Image.new("RGB", (8, 8)).save(path, "PPM")
    assert client.post("/score", files={"file": ("a.ppm", path.read_bytes())}).status_code == 415
    assert cli.main(["score", str(path), "--json"]) == 1
    assert "not an image in a format we accept" in json.loads(capsys.readouterr().out)[0]["error"]


# --- eval ------------------------------------------------------------------------------------


class FlakyModel:
    """Fails unexpectedly on one file; scores the others by brightness."""

    def score_many(self, images, batch_size=8, aspects=False, workers=2):
        for path in images:
            if path.endswith("flaky.png"):
                yield ItemFailed(f"{path} failed: RuntimeError: boom")
            else:
                yield Scores(float(np.asarray(open_image(path)).mean()), (1.0,) + (0.0,) * 100)


def test_eval_records_an_unexpected_failure_and_goes_on(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for name in ("a.png", "flaky.png", "b.png"):
        (images / name).write_bytes(png())
    entries = [{"image": n, "gt_score": 1.0} for n in ("a.png", "flaky.png", "b.png")]
    entries.append({"image": str(images / "a.png"), "gt_score": 1.0})  # absolute: refused
    (tmp_path / "test.json").write_text(json.dumps(entries))
    dataset = read_dataset(tmp_path / "test.json", images)
    progress = ProgressLog(tmp_path / "progress.jsonl")
    records = score_dataset(FlakyModel(), dataset, progress, {})
    kinds = {image: record.get("error", "scored") for image, record in records.items()}
    assert kinds == {"a.png": "scored", "flaky.png": "failed", "b.png": "scored",
                     str(images / "a.png"): "outside"}
    assert "boom" in records["flaky.png"]["detail"]
    assert progress.read() == records  # on disk: a rerun starts from here


def test_deeply_nested_test_json_is_one_line(tmp_path):
    from artimuse.errors import InputError

    (tmp_path / "images").mkdir()
    (tmp_path / "test.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError, match="nested too deeply"):
        read_dataset(tmp_path / "test.json", tmp_path / "images")


def test_a_tiff_whose_later_frames_are_broken_is_an_image_error():
    """Found by the fuzz corpus: counting frames read a directory without dimensions and
    escaped as a TypeError (a 500) after the first frame decoded fine."""
    from artimuse.errors import ImageError
    from artimuse.testing.hostile import hostile_inputs

    hostile = {h.name: h for h in hostile_inputs(seed=1, scale=2)}["mutated/tiff-cmyk#20"]
    try:
        open_image(hostile.data)
    except ImageError as error:
        assert str(error)
