"""The thin HTTP API over the engine (FastAPI). Build it with :func:`api.app.create_app`."""
