"""Without the [ray] extra: everything else works, and the Ray commands say what to install."""

from __future__ import annotations

import json
import sys

import pytest

from artimuse import cli
from artimuse.distributed.cluster import INSTALL, RayNotInstalled, require_ray
from tests.helpers import TINY_A


@pytest.fixture()
def no_ray(monkeypatch):
    """`import ray` fails, as where the extra is not installed."""
    for name in [m for m in sys.modules if m == "ray" or m.startswith("ray.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.delitem(sys.modules, "artimuse.distributed.serve", raising=False)


def test_require_ray_names_the_extra(no_ray):
    with pytest.raises(RayNotInstalled, match=r'pip install "artimuse\[ray\]"'):
        require_ray()


def test_ray_commands_fail_in_one_line_with_the_install_command(no_ray, tmp_path, capsys):
    (tmp_path / "images").mkdir()
    (tmp_path / "test.json").write_text(json.dumps([{"image": "a.jpg", "gt_score": 1}]))
    where = ["--test-json", str(tmp_path / "test.json"), "--images", str(tmp_path / "images")]
    model = ["--ckpt", str(TINY_A)]  # a good checkpoint: it is checked before Ray is needed
    for argv in (["eval", *where, *model, "--ray", "--out-dir", str(tmp_path)], ["serve", *model]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and INSTALL in err and err.startswith(f"artimuse {argv[0]}:")
