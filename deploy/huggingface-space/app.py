"""The ArtiMuse web app as a Hugging Face Space (see the README front matter beside this file).

The model is loaded here, at import, before `launch()`: from the hub cache that the front
matter's `preload_from_hub` filled when the Space was built (or the persistent storage under
/data), onto `cuda` on ZeroGPU, so that ZeroGPU packs it for its GPU workers. Only the model's
calls run inside `@spaces.GPU` (artimuse/webapp/zerogpu.py), taking a picture, aspect names and
a length (what ZeroGPU can pickle), and finding the model through the holder `build_app`
registers; elsewhere `spaces` changes nothing.
The Space's defaults (artimuse.webapp.zerogpu.SPACE_DEFAULTS: public mode, 512-token comments,
compile off) give way to the Space's variables.
"""

import logging
import os

try:  # ZeroGPU wants `spaces` imported before anything initialises CUDA
    import spaces  # noqa: F401
except ImportError:  # not on a Space: the app runs the same without it
    spaces = None

from artimuse.webapp.zerogpu import SPACE_DEFAULTS, space_model

for name, value in SPACE_DEFAULTS.items():
    os.environ.setdefault(name, value)  # a default of the environment: the Space's variables win

from artimuse.config import WEBAPP_PORT, Settings, listen_address  # noqa: E402
from artimuse.webapp.app import build_app, launch  # noqa: E402
from artimuse.webapp.state import ModelHolder  # noqa: E402

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")  # as main()
settings = Settings.from_env()
holder = ModelHolder.with_model(space_model(settings), settings)  # on cuda before launch()
demo = build_app(holder)

if __name__ == "__main__":
    host, port = listen_address(WEBAPP_PORT)  # a Space serves 0.0.0.0:7860
    launch(demo, host, port)
