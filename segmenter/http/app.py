"""The FastAPI application: one Segmenter per app (in ``app.state``), the routes, the error mapping, the API key."""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI, Security
from fastapi.security import HTTPBearer

from ..service import Segmenter
from ..settings import load as load_settings
from ..settings import parse_api_keys
from .auth import RequireKey
from .errors import install_error_handlers
from .limits import LimitBody
from .routes import router
from .schemas import error_responses


def create_app(seg_or_url: Segmenter | str | None = None, *, api_key: str | None = None,
               api_keys: str | None = None) -> FastAPI:
    """The API over ``seg_or_url`` (a Segmenter, a database URL, or None for the default database).
    ``api_key`` (else ``$SEGMENTER_API_KEY``: an editor key) and ``api_keys`` (else ``$SEGMENTER_API_KEYS``:
    ``name:role:key`` entries separated by commas) make every request need one of them; with neither, none is
    needed. A malformed ``api_keys`` raises SegmenterError, so the server does not start."""
    config = load_settings()
    keys = parse_api_keys(api_keys if api_keys is not None else config.api_keys,
                          api_key if api_key is not None else config.api_key)
    key = bool(keys)
    owned = not isinstance(seg_or_url, Segmenter)
    seg = seg_or_url if isinstance(seg_or_url, Segmenter) else Segmenter(seg_or_url)
    # Declares the bearer scheme in the OpenAPI schema; RequireKey does the checking, before any parsing.
    security = [Security(HTTPBearer(auto_error=False, description="One of the server's API keys (SEGMENTER_API_KEY, "
                                    "SEGMENTER_API_KEYS)"))] if key else []
    app = FastAPI(title="Segmenter API", version="1.0", separate_input_output_schemas=False,
                  description="Dynamic audience segments over a contacts database. See docs/api.md.",
                  dependencies=security, responses=error_responses(401, 403) if key else None,
                  lifespan=_lifespan(seg, owned))
    app.state.segmenter = seg
    app.state.api_keys = [(k.name, k.role) for k in keys]  # names and roles only, for the serve command's banner
    install_error_handlers(app)
    app.add_middleware(LimitBody)
    if key:  # added last, so it runs first: nothing about a request is looked at without the key
        app.add_middleware(RequireKey, keys=keys)
    app.include_router(router)
    return app


def _lifespan(seg: Segmenter, owned: bool) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[Any]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:  # a Segmenter handed in belongs to the caller
            seg.close()
    return lifespan
