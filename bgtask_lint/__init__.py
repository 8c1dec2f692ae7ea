"""bgtask-lint: find FastAPI / Starlette background tasks that silently never run."""

__version__ = "0.1.0"
