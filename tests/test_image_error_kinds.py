"""Every `ImageError` carries a kind from the one tuple, and every kind is something an input
really produces: the contract a front end relies on to word the problem in its own language."""

from __future__ import annotations

import ast
import pickle
from pathlib import Path

import pytest
import torch
from PIL import Image

import artimuse
from artimuse.errors import IMAGE_ERROR_KINDS, ImageError, ItemFailed
from artimuse.images import PreparedImage, open_image, prepare_image
from artimuse.testing.hostile import REFUSE, hostile_inputs

PACKAGE = Path(artimuse.__file__).parent
NEVER_FROM_INPUT = {"failed"}  # ItemFailed: a bug of ours, whatever the input was


def raise_sites() -> list[tuple[str, int, ast.Call]]:
    """Every `ImageError(...)` call in the package, with where it is."""
    sites = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ImageError":
                sites.append((str(path.relative_to(PACKAGE)), node.lineno, node))
    return sites


def test_every_raise_site_names_a_known_kind():
    sites = raise_sites()
    assert len(sites) >= 10  # images.py's sites and REST's empty upload: the scan found them
    for where, line, call in sites:
        kinds = [k.value for k in call.keywords if k.arg == "kind"]
        assert len(kinds) == 1, f"{where}:{line} gives no kind"
        if isinstance(kinds[0], ast.Constant):
            assert kinds[0].value in IMAGE_ERROR_KINDS, f"{where}:{line}: {kinds[0].value!r}"
        else:  # a kind carried over from an error decoded elsewhere (Ray's decode tasks)
            assert where.startswith("distributed/"), f"{where}:{line}: a kind not written out"


def kind_of(source, **kwargs) -> str:
    with pytest.raises(ImageError) as refused:
        open_image(source, **kwargs)
    assert str(refused.value)  # the message users of REST and the CLI read stays
    return refused.value.kind


def test_every_kind_is_produced_by_some_hostile_input(tmp_path):
    seen = {}
    for hostile in hostile_inputs(seed=0):
        try:
            open_image(hostile.data, name=hostile.name)
        except ImageError as error:
            seen.setdefault(error.kind, hostile.name)
        else:
            assert hostile.expect != REFUSE, hostile.name
    # what a caller of the Python API can hand over besides bytes
    seen.setdefault(kind_of(tmp_path / "nothing.png"), "a missing path")
    seen.setdefault(kind_of(Image.new("RGB", (0, 0))), "a 0x0 PIL image")
    seen.setdefault(kind_of(Image.new("La", (4, 4))), "a PIL image of mode La")
    with pytest.raises(ImageError) as wrong:
        prepare_image(PreparedImage(torch.zeros(1, 3, 56, 56)), 448)
    seen.setdefault(wrong.value.kind, "a PreparedImage of another size")
    assert set(seen) == set(IMAGE_ERROR_KINDS) - NEVER_FROM_INPUT, seen


def test_the_numbers_a_message_quotes_come_as_details(monkeypatch, tmp_path):
    monkeypatch.setenv("ARTIMUSE_MAX_PIXELS", "100")
    with pytest.raises(ImageError) as large:
        open_image(Image.new("RGB", (11, 10)))
    assert (large.value.kind, large.value.details) == ("too_large", {"pixels": 110, "limit": 100})
    frames = [Image.new("RGB", (8, 8), colour) for colour in ("red", "green", "blue")]
    gif = tmp_path / "moving.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:])
    with pytest.raises(ImageError) as animated:
        open_image(gif)
    assert (animated.value.kind, animated.value.details) == ("animated", {"frames": 3})


def test_kinds_survive_pickling_and_unknown_kinds_are_refused():
    error = pickle.loads(pickle.dumps(ImageError("x.png is animated", kind="animated", frames=3)))
    assert str(error) == "x.png is animated"
    assert (error.kind, error.details) == ("animated", {"frames": 3})
    failed = pickle.loads(pickle.dumps(ItemFailed("scoring failed: a bug")))
    assert isinstance(failed, ItemFailed) and failed.kind == "failed"
    with pytest.raises(ValueError, match="unknown ImageError kind"):
        ImageError("something", kind="weird")
