"""The ArtiMuse web app: `python demo_gradio.py [--host 0.0.0.0] [--port 7860]`.

The same as `artimuse ui`: checkpoint and device from the flags or ARTIMUSE_CKPT, ARTIMUSE_DEVICE,
...; HOST and PORT set the defaults of --host and --port; `--help` lists every variable the web
app reads. A bad variable or a port in use is one line before anything loads (exit status 2).
"""

import sys

from artimuse.cli.servers import run_web_app

if __name__ == "__main__":
    sys.exit(run_web_app(sys.argv[1:], prog="demo_gradio.py"))
