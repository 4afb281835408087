"""The ArtiMuse web app: `python demo_gradio.py [--host 0.0.0.0] [--port 7860]`.

Checkpoint and device come from ARTIMUSE_CKPT, ARTIMUSE_DEVICE, ARTIMUSE_DTYPE and
ARTIMUSE_MAX_NEW_TOKENS; HOST and PORT set the defaults of --host and --port.
"""

from artimuse.webapp.app import main

if __name__ == "__main__":
    main()
