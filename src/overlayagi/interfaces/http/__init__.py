"""The HTTP interface: ``overlay serve`` (FastAPI on uvicorn)."""
