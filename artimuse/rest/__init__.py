"""The REST service (FastAPI): routes, uploads, auth, the model's work queue."""
