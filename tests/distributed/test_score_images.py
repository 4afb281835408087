"""`score_images`: the Python API for Ray pipelines (paths or a Dataset in, a Dataset out)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from artimuse.api import batched, prepare_or_error
from artimuse.images import ImageError
from tests.helpers import TINY_A

pytestmark = pytest.mark.ray
BATCH = 2


@pytest.fixture(scope="module")
def pictures(tmp_path_factory) -> list[str]:
    """Three images, a corrupt file and a missing one."""
    folder = tmp_path_factory.mktemp("pictures")
    rng = np.random.default_rng(3)
    paths = []
    for i in range(3):
        path = folder / f"p{i}.jpg"
        Image.fromarray(rng.integers(0, 256, (30 + 20 * i, 48, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return [paths[0], str(folder / "corrupt.jpg"), paths[1], str(folder / "gone.jpg"), paths[2]]


@pytest.fixture(scope="module")
def expected(tiny_model, pictures) -> dict[str, object]:
    """path -> Scores or ImageError, in this process, batched as `score_images` batches a list,
    on one thread as the actor (one CPU) computes."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        results = []
        for group in batched(pictures, BATCH):
            prepared = [prepare_or_error(p, tiny_model.image_size) for p in group]
            results += tiny_model.score_prepared(prepared, aspects=True)
    finally:
        torch.set_num_threads(threads)
    return dict(zip(pictures, results, strict=True))


def score(images, **options):
    from artimuse.distributed.data import score_images

    return score_images(
        images, str(TINY_A), device="cpu", dtype="float32", batch_size=BATCH, **options
    )


def test_paths_in_scores_and_errors_out_and_parquet_in_one_call(
    local_ray, pictures, expected, tmp_path
):
    import pyarrow.parquet as pq

    from artimuse.distributed.data import ASPECT_COLUMNS

    scored = score(pictures, aspects=True, workers=1, cpus_per_worker=1).materialize()
    scored.write_parquet(str(tmp_path / "scores"))
    rows = {row["path"]: row for row in scored.iter_rows()}

    aspects = list(ASPECT_COLUMNS.values())
    assert scored.columns() == ["path", "total", *aspects, "warnings", "error", "error_kind"]
    assert set(rows) == set(pictures)
    for path, want in expected.items():
        row = rows[path]
        if isinstance(want, ImageError):
            assert row["error"] == str(want) and row["error_kind"] == "unreadable"
            assert row["total"] is None
            assert all(row[c] is None for c in ASPECT_COLUMNS.values())
        else:
            assert row["error"] is None and row["total"] == want.total
            assert {a: row[c] for a, c in ASPECT_COLUMNS.items()} == want.aspects
    table = pq.read_table(tmp_path / "scores")
    assert sorted(table.to_pylist(), key=lambda r: r["path"]) == sorted(
        rows.values(), key=lambda r: r["path"]
    )
    assert "no such image file" in rows[pictures[3]]["error"]
    assert "corrupt.jpg" in rows[pictures[1]]["error"]


def test_a_dataset_of_paths_or_of_bytes_in(local_ray, pictures, expected):
    ray = local_ray
    of_paths = ray.data.from_items([{"path": p} for p in pictures])
    readable = [p for p in pictures if not p.endswith("gone.jpg")]
    of_bytes = ray.data.read_binary_files(readable, include_paths=True)  # what S3 users have
    rows = score(of_paths.union(of_bytes), workers=2).take_all()

    assert set(rows[0]) == {"path", "total", "warnings", "error", "error_kind"}  # no aspects
    by_name = defaultdict(list)
    for row in rows:
        by_name[Path(row["path"]).name].append(row)
    for path, want in expected.items():
        got = by_name[Path(path).name]
        assert len(got) == (2 if path in readable else 1)
        for row in got:  # batched by Ray here, not as a list is: equal to the 3rd decimal
            if isinstance(want, ImageError):
                assert row["total"] is None and Path(path).name in row["error"]
            else:
                assert row["total"] == pytest.approx(want.total, abs=1e-3) and not row["error"]


def test_a_dataset_without_paths_is_refused_by_name(local_ray):
    with pytest.raises(Exception, match="needs a `path` column"):
        score(local_ray.data.from_items([{"file": "a.jpg"}])).take_all()


def test_the_actors_load_with_the_quantization_asked_for(local_ray, pictures):
    import artimuse

    readable = [p for p in pictures if p.endswith("p0.jpg")]
    int8 = artimuse.load(str(TINY_A), device="cpu", dtype="float32", quant="int8")
    want = int8.score_prepared([prepare_or_error(readable[0], int8.image_size)], aspects=False)
    rows = score(readable, workers=1, quant="int8").take_all()
    assert rows[0]["total"] == pytest.approx(want[0].total, abs=1e-3)
    plain = artimuse.load(str(TINY_A), device="cpu", dtype="float32")
    assert rows[0]["total"] != pytest.approx(plain.score(readable[0]).total, abs=1e-3)
