"""The dashboard's files as the server hands them out: types, caching, CSP, nothing beyond
``static/``, and source rules that keep the app safe without a build step."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from alertwhisperer_adapters.http._dashboard import CONTENT_SECURITY_POLICY, STATIC_DIR

from ..support.api import Api

JS_FILES = sorted(STATIC_DIR.rglob("*.js"))


def test_root_answers_the_app_shell_with_a_strict_policy(api: Api) -> None:
    response = api.client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    policy = dict(p.strip().split(" ", 1) for p in CONTENT_SECURITY_POLICY.split(";"))
    assert policy["script-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["default-src"] == "'none'"
    assert policy["require-trusted-types-for"] == "'script'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert '<script type="module" src="/static/js/app.js">' in response.text


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/static/js/app.js", "text/javascript; charset=utf-8"),
        ("/static/js/pages/chat.js", "text/javascript; charset=utf-8"),
        ("/static/app.css", "text/css; charset=utf-8"),
        ("/static/favicon.svg", "image/svg+xml"),
    ],
)
def test_static_files_have_their_content_type(api: Api, path: str, content_type: str) -> None:
    response = api.client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.content == (STATIC_DIR / path.removeprefix("/static/")).read_bytes()


def test_static_files_revalidate_with_their_etag(api: Api) -> None:
    first = api.client.get("/static/js/app.js")
    assert first.headers["cache-control"] == "no-cache"
    etag = first.headers["etag"]
    again = api.client.get("/static/js/app.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    changed = api.client.get("/static/js/app.js", headers={"If-None-Match": '"stale"'})
    assert changed.status_code == 200
    assert changed.content == first.content


@pytest.mark.parametrize(
    "path",
    [
        "/static/nothing.js",
        "/static/../_app.py",
        "/static/%2e%2e/_app.py",
        "/static/..%2f_dashboard.py",
        "/static/js/../../_auth.py",
        "/static/index.html",
        "/static/",
        "/static/js",
    ],
)
def test_anything_outside_the_file_table_is_404(api: Api, path: str) -> None:
    response = api.client.get(path)
    assert response.status_code == 404
    assert "import" not in response.text


def test_writes_to_dashboard_paths_are_refused(api: Api) -> None:
    assert api.client.post("/").status_code == 405
    assert api.client.put("/static/js/app.js").status_code == 405


def test_the_api_keeps_answering_json(api: Api) -> None:
    response = api.client.get("/api/incidents")
    assert response.status_code == 401
    assert response.json()["detail"]


def test_the_shell_has_no_inline_script_or_style() -> None:
    html = (STATIC_DIR / "index.html").read_text()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag
    assert not re.search(r"<script\b[^>]*>\s*[^<\s]", html)
    assert "<style" not in html
    assert " style=" not in html
    assert not re.search(r"\son[a-z]+=", html)


@pytest.mark.parametrize("path", JS_FILES, ids=lambda p: p.relative_to(STATIC_DIR).as_posix())
def test_scripts_never_write_html_strings(path: Path) -> None:
    source = path.read_text()
    for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert forbidden not in source, f"{path.name} uses {forbidden}"
    assert "new Function" not in source
    # Inline style attributes would be blocked by the policy (style-src 'self').
    assert "style:" not in source


@pytest.mark.parametrize("path", JS_FILES, ids=lambda p: p.relative_to(STATIC_DIR).as_posix())
def test_scripts_import_only_local_modules_that_exist(path: Path) -> None:
    source = path.read_text()
    imports = re.findall(r"""^\s*import\s[^;]*?from\s+["']([^"']+)["']""", source, re.MULTILINE)
    for target in imports:
        assert target.startswith("./") or target.startswith("../"), target
        assert (path.parent / target).resolve().is_file(), f"{path.name} imports {target}"


def test_no_asset_comes_from_another_origin() -> None:
    for path in STATIC_DIR.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".js", ".css"}:
            text = path.read_text()
            # The SVG namespace is a name, not a fetch; placeholders show example URLs.
            text = text.replace('"http://www.w3.org/2000/svg"', "")
            text = text.replace('placeholder: "http://localhost', "")
            assert not re.search(r"""["'(]https?://""", text), path.name
            assert "//cdn" not in text, path.name
