"""The HTTP API (SPEC §6): a thin FastAPI adapter over one Segmenter per app, laid out like the FastAPI full-stack
template — ``app`` (the factory), ``routes`` (an APIRouter), ``schemas`` (bodies), ``errors`` (error mapping),
``auth`` (the API key). Errors come out as ``{"detail": "<message>", "problems": [...]}``, never a traceback."""
from .app import create_app
from .schemas import SEED_RULES, SEED_SEGMENT

__all__ = ["create_app", "SEED_RULES", "SEED_SEGMENT"]
