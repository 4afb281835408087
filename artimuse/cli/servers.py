"""`artimuse api` and `artimuse ui` (also `python demo_api.py` / `python demo_gradio.py`): the
servers, each with its own argument parser, behind the start-up checks."""

from __future__ import annotations

import sys

from artimuse.config import REST_VARIABLES, WEBAPP_VARIABLES, check_variables, parse_port
from artimuse.errors import ArtiMuseError
from artimuse.startup import check_listen, exit_with


def run_api(argv: list[str], prog: str = "artimuse api") -> int:
    from artimuse.rest.app import main as serve

    return serve(argv, prog=prog) or 0


def run_web_app(argv: list[str], prog: str = "artimuse ui") -> int:
    """The web app, after its variables and its port are checked: one line each, exit 2, before
    the model starts loading (gradio's own message for a taken port names a variable that does
    not apply here)."""
    try:
        from artimuse.webapp.app import main as serve
        from artimuse.webapp.app import parse_args
    except ImportError as error:
        print(f"{prog}: the web app is not available ({error}); install it with: "
              "pip install 'artimuse[gradio]'", file=sys.stderr)
        return 2
    try:
        # all of them, before the parser reads HOST and PORT; the REST service's too while the
        # web app takes its queue size from ServiceSettings.from_env(), which reads them all
        check_variables(dict.fromkeys((*WEBAPP_VARIABLES, *REST_VARIABLES)))
        args = parse_args(argv)
        check_listen(args.host, parse_port(args.port, "--port"))
    except ArtiMuseError as error:
        return exit_with(prog, error)
    return serve(argv) or 0
