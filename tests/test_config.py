"""The configuration module is the one place that reads the environment, and the README lists
every variable it reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from artimuse import config
from artimuse.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "artimuse"


def _variables_read_in(source: str) -> set[str]:
    return set(re.findall(r"""["']((?:ARTIMUSE_[A-Z_]+)|HOST|PORT|RAY_ADDRESS)["']""", source))


def test_every_variable_read_is_in_the_table_and_the_readme():
    read = _variables_read_in((PACKAGE / "config.py").read_text())
    table = {v.name for v in config.VARIABLES}
    assert read == table
    readme_rows = set(re.findall(r"^\| `([A-Z_]+)` \|", (ROOT / "README.md").read_text(), re.M))
    assert table <= readme_rows, f"missing from the README's table: {table - readme_rows}"


def test_no_other_module_reads_the_environment():
    reads = re.compile(r"os\.environ|os\.getenv|getenv\(")
    readers = [
        str(path.relative_to(ROOT))
        for path in PACKAGE.rglob("*.py")
        if path.name != "config.py" and reads.search(path.read_text())
    ]
    assert readers == []


def test_a_bad_number_names_its_variable(monkeypatch):
    monkeypatch.setenv("ARTIMUSE_QUEUE_SIZE", "many")
    with pytest.raises(InputError, match="ARTIMUSE_QUEUE_SIZE must be an integer, got 'many'"):
        config.ServiceSettings.from_env()
    monkeypatch.setenv("ARTIMUSE_QUEUE_SIZE", "0")
    with pytest.raises(InputError, match="ARTIMUSE_QUEUE_SIZE must be >= 1, got 0"):
        config.ServiceSettings.from_env()


def test_flags_override_the_environment(monkeypatch):
    monkeypatch.setenv("ARTIMUSE_CKPT", "elsewhere")
    monkeypatch.setenv("ARTIMUSE_DEVICE", "cpu")
    parser = config.model_options()
    assert config.settings_from_args(parser.parse_args([])).ckpt == "elsewhere"
    args = parser.parse_args(["--model_name", "ArtiMuse_AVA", "--dtype", "float32"])
    settings = config.settings_from_args(args)
    assert (settings.ckpt, settings.device, settings.dtype) == (
        str(Path("checkpoints/ArtiMuse_AVA")), "cpu", "float32"
    )
    with pytest.raises(InputError, match="--max-new-tokens must be >= 1"):
        config.settings_from_args(parser.parse_args(["--max-new-tokens", "0"]))


def test_the_web_app_takes_the_model_options():
    pytest.importorskip("gradio")
    from artimuse.webapp.app import parse_args

    args = parse_args(["--ckpt", "some/dir", "--device", "cpu", "--dtype", "float32"])
    assert config.settings_from_args(args) == config.Settings("some/dir", "cpu", "float32")


def test_quant_and_compile_from_the_environment_and_the_flags(monkeypatch):
    parser = config.model_options()
    assert config.settings_from_args(parser.parse_args([])).quant == "none"
    monkeypatch.setenv("ARTIMUSE_QUANT", "INT8")
    monkeypatch.setenv("ARTIMUSE_COMPILE", "1")
    settings = config.settings_from_args(parser.parse_args([]))
    assert (settings.quant, settings.compile) == ("int8", True)
    settings = config.settings_from_args(parser.parse_args(["--quant", "nf4", "--no-compile"]))
    assert (settings.quant, settings.compile) == ("nf4", False)
    assert settings.load_options()["quant"] == "nf4"
    refused = "--quant must be one of none, int8, int4, nf4, got 'int2'"
    with pytest.raises(InputError, match=refused):
        config.settings_from_args(parser.parse_args(["--quant", "int2"]))
    monkeypatch.setenv("ARTIMUSE_COMPILE", "maybe")
    with pytest.raises(InputError, match="ARTIMUSE_COMPILE must be 1 or 0, got 'maybe'"):
        config.Settings.from_env()
