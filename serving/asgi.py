"""``serving.asgi:app``: the app uvicorn workers import, configured from ``CLAIMRISK_*``."""

from serving.app import create_app

app = create_app()
