"""`artimuse ui` / `python demo_gradio.py`: their own help (the web app's variables, not the
REST service's), --version, and a bad variable as one line with exit status 2."""

from __future__ import annotations

import re

import pytest

from artimuse import __version__, cli, config
from artimuse.cli.servers import run_web_app

pytest.importorskip("gradio")


def _out(argv: list[str], capsys, prog: str = "artimuse ui") -> tuple[int, str, str]:
    try:
        code = run_web_app(argv, prog=prog)
    except SystemExit as done:
        code = done.code
    out, err = capsys.readouterr()
    return code, " ".join(out.split()), err


@pytest.mark.parametrize("prog", ["artimuse ui", "demo_gradio.py"])
def test_help_is_the_web_apps_own(prog, capsys):
    code, text, _ = _out(["--help"], capsys, prog)
    assert code == 0 and text.startswith(f"usage: {prog} ")
    listed = set(re.findall(r"\b(ARTIMUSE_[A-Z_]+|HOST|PORT|SPACE_ID)\b",
                            text.split("Environment:")[1]))  # fmt: skip
    assert listed == set(config.WEBAPP_VARIABLES)
    assert {"ARTIMUSE_PUBLIC", "ARTIMUSE_ADMIN_PASSWORD", "ARTIMUSE_JOB_TIME_LIMIT"} <= listed
    assert "ARTIMUSE_API_KEY" not in text and "ARTIMUSE_CORS_ORIGINS" not in text


def test_the_cli_hands_ui_its_help_and_version(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["ui", "--help"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("usage: artimuse ui ")
    with pytest.raises(SystemExit):
        cli.main(["ui", "--version"])
    assert capsys.readouterr().out == f"artimuse ui {__version__}\n"


@pytest.mark.parametrize(
    "name, value, line",
    [
        ("ARTIMUSE_JOB_TIME_LIMIT", "soon", "ARTIMUSE_JOB_TIME_LIMIT must be an integer"),
        ("ARTIMUSE_MAX_BATCH", "0", "ARTIMUSE_MAX_BATCH must be >= 1, got 0"),
        ("ARTIMUSE_PUBLIC", "maybe", "ARTIMUSE_PUBLIC must be one of"),
    ],
)
def test_a_bad_web_app_variable_is_one_line_and_exit_2(name, value, line, monkeypatch, capsys):
    monkeypatch.setenv(name, value)
    monkeypatch.setenv("ARTIMUSE_CKPT", "nowhere")  # had loading started, that would be the error
    code, _, err = _out([], capsys)
    assert code == 2 and err.startswith(f"artimuse ui: error: {line}") and err.count("\n") == 1


def test_the_rest_services_variables_are_not_the_web_apps(tiny_model, monkeypatch):
    from artimuse.webapp.app import build_app
    from artimuse.webapp.state import ModelHolder

    for name in ("ARTIMUSE_CORS_ORIGINS", "ARTIMUSE_BODY_TIMEOUT", "ARTIMUSE_API_KEY"):
        monkeypatch.setenv(name, "not:valid")  # a REST-only setting the web app never reads
    app = build_app(ModelHolder.with_model(tiny_model))
    assert app.artimuse.shared.limits.max_files == config.DEFAULT_MAX_BATCH
