"""ArtiMuse REST service: `python demo_api.py [--host 0.0.0.0] [--port 8000]`.

Kept at the repository root so the original demo's command keeps working; the service itself
is `artimuse.rest.app` (also `artimuse api`). `uvicorn demo_api:app` works too: building the app
loads nothing, the model loads when the server starts.
"""

from artimuse.rest.app import create_app, main

app = create_app()

if __name__ == "__main__":
    main(prog="demo_api.py")
