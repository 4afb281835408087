"""The configuration module is the one place that reads the environment, and the README lists
every variable it reads."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from artimuse import config
from artimuse.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "artimuse"


def _variables_read_in(source: str) -> set[str]:
    names = r"""["']((?:ARTIMUSE_[A-Z_]+)|HOST|PORT|RAY_ADDRESS|SPACE_ID)["']"""
    return set(re.findall(names, source))


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
    refused = "--quant must be one of none, int8, int4, nf4, w8a8, got 'int2'"
    with pytest.raises(InputError, match=refused):
        config.settings_from_args(parser.parse_args(["--quant", "int2"]))
    monkeypatch.setenv("ARTIMUSE_COMPILE", "maybe")
    with pytest.raises(InputError, match="ARTIMUSE_COMPILE must be one of .* got 'maybe'"):
        config.Settings.from_env()


# --- one parser per kind of value -----------------------------------------------------------


@pytest.mark.parametrize("word", ["1", "true", "True", "YES", "on", " On "])
def test_every_yes_word_in_any_case(word, monkeypatch):
    for name in ("ARTIMUSE_COMPILE", "ARTIMUSE_AUTO_DOWNLOAD"):  # one parser for both
        monkeypatch.setenv(name, word)
    assert config.Settings.from_env().compile is True
    assert config.auto_download() is True


@pytest.mark.parametrize("word", ["0", "false", "NO", "Off", ""])
def test_every_no_word_and_empty(word, monkeypatch):
    for name in ("ARTIMUSE_COMPILE", "ARTIMUSE_AUTO_DOWNLOAD"):
        monkeypatch.setenv(name, word)
    assert config.Settings.from_env().compile is False
    assert config.auto_download() is False


def test_a_refused_yes_no_value_lists_what_is_accepted(monkeypatch):
    for name in ("ARTIMUSE_COMPILE", "ARTIMUSE_AUTO_DOWNLOAD"):
        monkeypatch.setenv(name, "2")
        with pytest.raises(InputError) as refused:
            config.read(name)
        message = str(refused.value)
        assert message.startswith(f"{name} must be") and message.endswith("got '2'")
        assert all(w in message for w in config.TRUE_WORDS + config.FALSE_WORDS)


@pytest.mark.parametrize("raw", ["0", "65536", "99999", "-1", "abc", "80.5"])
def test_a_port_outside_1_to_65535_is_refused(raw, monkeypatch):
    monkeypatch.setenv("PORT", raw)
    with pytest.raises(InputError, match=r"^PORT must be a port number \(1-65535\), got"):
        config.listen_address(config.API_PORT)
    with pytest.raises(argparse.ArgumentTypeError, match="1-65535"):
        config.port_number(raw)


def test_ports_at_the_edges_and_empty_port(monkeypatch):
    for raw, port in (("1", 1), ("65535", 65535), (" 8080 ", 8080), ("", config.API_PORT)):
        monkeypatch.setenv("PORT", raw)
        assert config.listen_address(config.API_PORT)[1] == port


def test_an_empty_variable_is_unset(monkeypatch):
    for variable in config.VARIABLES:
        monkeypatch.setenv(variable.name, "")
    assert config.Settings.from_env() == config.Settings()  # ARTIMUSE_CKPT= is not "."
    assert config.ServiceSettings.from_env() == config.ServiceSettings()
    assert config.listen_address(config.WEBAPP_PORT) == (config.DEFAULT_HOST, config.WEBAPP_PORT)
    config.check_variables(v.name for v in config.VARIABLES)


def test_given_settings_do_not_read_their_variables(monkeypatch):
    for name in config.MODEL_VARIABLES:
        monkeypatch.setenv(name, "nonsense")
    given = dict(ckpt="c", device="cpu", dtype="float32", max_new_tokens=5, quant="none",
                 compile=False)
    assert config.Settings.from_env(**given) == config.Settings(**given)
    args = config.model_options().parse_args(
        ["--ckpt", "c", "--device", "cpu", "--dtype", "float32", "--max-new-tokens", "5",
         "--quant", "none", "--no-compile"]
    )
    assert config.settings_from_args(args) == config.Settings(**given)
    with pytest.raises(InputError, match="ARTIMUSE_MAX_NEW_TOKENS must be an integer"):
        config.Settings.from_env(**{**given, "max_new_tokens": None})


def test_check_variables_reports_every_bad_one_a_line(monkeypatch):
    monkeypatch.setenv("ARTIMUSE_MAX_PIXELS", "1e6")
    monkeypatch.setenv("ARTIMUSE_MAX_SIDE", "0")
    monkeypatch.setenv("ARTIMUSE_BODY_TIMEOUT", "abc")  # not asked for: not read
    with pytest.raises(InputError) as refused:
        config.check_variables(config.IMAGE_VARIABLES)
    assert str(refused.value).splitlines() == [
        "ARTIMUSE_MAX_PIXELS must be an integer, got '1e6'",
        "ARTIMUSE_MAX_SIDE must be >= 1, got 0",
    ]


def test_a_bad_image_limit_is_the_callers_error_not_the_images(monkeypatch):
    """A Python caller with ARTIMUSE_MAX_PIXELS=1e6 hears about the variable, not that a good
    picture is "corrupt or truncated"."""
    from artimuse.images import ImageError, prepare_image
    from tests.helpers import CONFORMANCE_IMAGES

    image = next(iter(CONFORMANCE_IMAGES.values()))
    for name, value in (("ARTIMUSE_MAX_PIXELS", "1e6"), ("ARTIMUSE_MAX_SIDE", "abc")):
        monkeypatch.setenv(name, value)
        with pytest.raises(InputError, match=f"{name} must be an integer") as refused:
            prepare_image(image, 448)
        assert not isinstance(refused.value, ImageError)
        monkeypatch.delenv(name)


def test_every_reader_is_a_variable_of_the_table():
    assert set(config.READERS) <= {v.name for v in config.VARIABLES}
    fronts = (config.REST_VARIABLES, config.WEBAPP_VARIABLES, config.MODEL_VARIABLES)
    assert all(set(names) <= set(config.READERS) for names in fronts)


def test_dtype_aliases_and_device_names_in_any_case():
    import torch

    from artimuse.devices import DTYPE_ALIASES, resolve_device, resolve_dtype

    cpu = torch.device("cpu")
    assert resolve_device("CPU") == resolve_device(" Cpu ") == cpu
    assert resolve_dtype("BF16", cpu) == resolve_dtype("bfloat16", cpu) == torch.bfloat16
    assert resolve_dtype("half", cpu) == resolve_dtype("FP16", cpu) == torch.float16
    assert resolve_dtype("fp32", cpu) == torch.float32
    with pytest.raises(InputError, match="bf16 = bfloat16"):
        resolve_dtype("float64", cpu)
    documented = next(v.meaning for v in config.VARIABLES if v.name == "ARTIMUSE_DTYPE")
    assert all(f"`{alias}`" in documented for alias in DTYPE_ALIASES)
