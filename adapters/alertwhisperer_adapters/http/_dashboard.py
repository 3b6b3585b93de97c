"""The dashboard: a single-page app of plain HTML, CSS and JavaScript modules in ``static/``,
served as files (no build step, nothing fetched from another origin).

``GET /`` answers the app shell; ``GET /static/{path}`` answers one of the files found in
``static/`` when the app was created, and nothing else (a path that is not in that table is a
404, so no request can reach outside the directory). Every answer carries a strict
Content-Security-Policy: scripts and styles from this origin only, no inline script, network
access (``fetch`` and the ``/ws`` WebSocket) to this origin only, and Trusted Types enforced so
that no script can assign HTML strings to the page (the app builds DOM nodes and sets
``textContent``).

The files carry no content hash in their names, so they are served with ``Cache-Control:
no-cache`` and a strong ETag: the browser revalidates each one (an unchanged file costs a 304)
and a new release shows at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import attrs
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["CONTENT_SECURITY_POLICY", "STATIC_DIR", "dashboard_routes", "load_static"]

STATIC_DIR = Path(__file__).parent / "static"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    )
)

_SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
}


@attrs.frozen
class StaticFile:
    body: bytes = attrs.field(repr=False)
    content_type: str
    etag: str


def load_static(directory: Path = STATIC_DIR) -> dict[str, StaticFile]:
    """Every servable file under ``directory`` by its path relative to it (``js/app.js``).
    Files of a type the table above does not know are left out rather than guessed."""
    files: dict[str, StaticFile] = {}
    for path in sorted(directory.rglob("*")):
        content_type = _CONTENT_TYPES.get(path.suffix.lower())
        if content_type is None or not path.is_file():
            continue
        body = path.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        files[path.relative_to(directory).as_posix()] = StaticFile(body, content_type, etag)
    return files


def _not_modified(request: Request, etag: str) -> bool:
    sent = request.headers.get("if-none-match", "")
    return any(tag.strip().removeprefix("W/") == etag for tag in sent.split(","))


def _answer(request: Request, file: StaticFile) -> Response:
    headers = {**_SECURITY_HEADERS, "Cache-Control": "no-cache", "ETag": file.etag}
    if _not_modified(request, file.etag):
        return Response(status_code=304, headers=headers)
    return Response(file.body, media_type=file.content_type, headers=headers)


def _not_found() -> Response:
    return Response(
        b"Not found", status_code=404, media_type="text/plain", headers=dict(_SECURITY_HEADERS)
    )


def dashboard_routes(files: Mapping[str, StaticFile] | None = None) -> list[Route]:
    """``/`` and ``/static/{path}`` over ``files`` (default: this package's ``static/``)."""
    table = dict(load_static() if files is None else files)

    async def dashboard(request: Request) -> Response:
        shell = table.get("index.html")
        return _not_found() if shell is None else _answer(request, shell)

    async def dashboard_static(request: Request) -> Response:
        file = table.get(request.path_params["path"])
        if file is None or request.path_params["path"] == "index.html":
            return _not_found()
        return _answer(request, file)

    return [
        Route("/", dashboard, methods=["GET"], name="dashboard"),
        Route("/static/{path:path}", dashboard_static, methods=["GET"], name="dashboard_static"),
    ]
