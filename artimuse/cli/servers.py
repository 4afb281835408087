"""`artimuse api` and `artimuse ui` (also `python demo_api.py` / `python demo_gradio.py`): the
servers, each with its own argument parser, behind the start-up checks."""

from __future__ import annotations

import sys


def run_api(argv: list[str], prog: str = "artimuse api") -> int:
    from artimuse.rest.app import main as serve

    return serve(argv, prog=prog) or 0


def run_web_app(argv: list[str], prog: str = "artimuse ui") -> int:
    """The web app (its own parser and start-up checks, as `artimuse api`)."""
    try:
        from artimuse.webapp.app import main as serve
    except ImportError as error:
        print(f"{prog}: the web app is not available ({error}); install it with: "
              "pip install 'artimuse[gradio]'", file=sys.stderr)
        return 2
    return serve(argv, prog=prog) or 0
