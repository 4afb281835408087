"""Servers refuse a bad port, a port in use and a bad variable with one line and exit status 2,
before any model loads; `load()` reads only the variables of the arguments it was not given."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

import artimuse
from artimuse import cli
from artimuse.errors import CheckpointNotFound

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def taken_port():
    """A port some other program listens on (127.0.0.1, chosen by the OS)."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def _exit(argv: list[str], capsys) -> tuple[int, str]:
    """cli.main's exit status, whether returned or raised (argparse and the servers raise)."""
    try:
        code = cli.main(argv)
    except SystemExit as done:
        code = done.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("command", ["api", "ui", "serve"])
def test_a_port_outside_1_to_65535_is_refused(command, capsys):
    pytest.importorskip("gradio" if command == "ui" else "fastapi")
    code, err = _exit([command, "--port", "99999", "--ckpt", "nowhere"], capsys)
    assert code == 2 and "port number (1-65535), got 99999" in err


@pytest.mark.parametrize("command", ["api", "ui", "serve"])
def test_a_port_in_use_is_one_line_before_loading(command, taken_port, monkeypatch, capsys):
    pytest.importorskip("gradio" if command == "ui" else "fastapi")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)  # `serve` on a local Ray listens here
    # a checkpoint that does not exist: had loading started, that would be the message
    monkeypatch.setenv("ARTIMUSE_CKPT", "nowhere")
    code, err = _exit([command, "--host", "127.0.0.1", "--port", str(taken_port)], capsys)
    in_use = f"port {taken_port} is in use: pass --port or set PORT"
    assert code == 2 and err == f"artimuse {command}: error: {in_use}\n"


@pytest.mark.parametrize("command", ["api", "ui"])
def test_bad_server_variables_are_one_line_each(command, monkeypatch, capsys):
    pytest.importorskip("gradio" if command == "ui" else "fastapi")
    monkeypatch.setenv("PORT", "abc")
    code, err = _exit([command], capsys)
    assert code == 2
    assert err == f"artimuse {command}: error: PORT must be a port number (1-65535), got 'abc'\n"
    monkeypatch.setenv("PORT", "0")
    monkeypatch.setenv("ARTIMUSE_MAX_PIXELS", "1e6")
    monkeypatch.setenv("ARTIMUSE_MAX_UPLOAD_MB", "0")
    code, err = _exit([command], capsys)
    assert code == 2  # every bad variable a line (in the table's order, not promised here)
    assert sorted(err.splitlines()) == sorted(
        f"artimuse {command}: error: {line}"
        for line in ("PORT must be a port number (1-65535), got 0",
                     "ARTIMUSE_MAX_PIXELS must be an integer, got '1e6'",
                     "ARTIMUSE_MAX_UPLOAD_MB must be >= 1, got 0")
    )


@pytest.mark.parametrize("script", ["demo_gradio.py"])  # demo_api.py: `artimuse api`'s main
def test_the_demo_scripts_say_a_bad_port_in_one_line(script):
    pytest.importorskip("gradio")
    env = {"PATH": "/usr/bin:/bin", "PORT": "abc", "HOME": str(ROOT)}
    done = subprocess.run([sys.executable, script], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr == f"{script}: error: PORT must be a port number (1-65535), got 'abc'\n"


def test_load_reads_only_the_variables_of_unset_arguments(tiny_a, monkeypatch):
    for name, value in {"ARTIMUSE_CKPT": "nowhere", "ARTIMUSE_DEVICE": "gpu9",
                        "ARTIMUSE_DTYPE": "float64", "ARTIMUSE_MAX_NEW_TOKENS": "many",
                        "ARTIMUSE_QUANT": "int3", "ARTIMUSE_COMPILE": "maybe"}.items():
        monkeypatch.setenv(name, value)
    model = artimuse.load(str(tiny_a), device="CPU", dtype="fp32", max_new_tokens=3,
                          quant="none", compile=False)
    assert (model.name, model.max_new_tokens, str(model.dtype)) == ("tiny-a", 3, "torch.float32")


def test_an_empty_checkpoint_variable_is_the_default_not_this_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.json").write_text("{}")  # "." would be taken, and fail on this
    monkeypatch.setenv("ARTIMUSE_CKPT", "")
    with pytest.raises(CheckpointNotFound, match="checkpoints/ArtiMuse"):
        artimuse.load(device="cpu")
