"""The ArtiMuse web app as a Hugging Face Space (see the README front matter beside this file).

The checkpoint is downloaded at start-up (ARTIMUSE_AUTO_DOWNLOAD is implied) and the page
shows the progress. On ZeroGPU the model goes onto `cuda` at start-up and each assessment runs
inside `@spaces.GPU` (artimuse/webapp/zerogpu.py); elsewhere `spaces` changes nothing.
"""

try:  # ZeroGPU wants `spaces` imported before anything initialises CUDA
    import spaces  # noqa: F401
except ImportError:  # not on a Space: the app runs the same without it
    spaces = None

import dataclasses

from artimuse.config import WEBAPP_PORT, Settings, listen_address
from artimuse.webapp.app import build_app, launch
from artimuse.webapp.zerogpu import zerogpu_active


def build(downloads=None):
    """The page, its checkpoint downloading (or loading) in the background already."""
    settings = Settings.from_env()
    if zerogpu_active():
        settings = dataclasses.replace(settings, device="cuda")
    return build_app(settings=settings, downloads=downloads, auto_download=True)


if __name__ == "__main__":
    host, port = listen_address(WEBAPP_PORT)  # a Space serves 0.0.0.0:7860
    launch(build(), host, port)
