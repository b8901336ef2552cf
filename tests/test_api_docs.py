"""``/api/docs/`` through the real ``jobgate serve``: the Swagger UI page and every asset it loads come from the
server itself, so the docs work on a network without internet access."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from tests.test_serve import Server


class _References(HTMLParser):
    """Every URL a page loads: ``src`` and ``href`` attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def test_the_docs_page_loads_swagger_ui_from_the_server_itself(tmp_path: Path) -> None:
    server = Server(tmp_path, {"JOBGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'jobgate.db'}"})
    page = httpx.get(f"{server.url}/api/docs/", timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle" in page.text
    assert not re.search(r"https?://", page.text), "the page names an outside host"
    parser = _References()
    parser.feed(page.text)
    expected_types = {"swagger-ui-bundle.js": "javascript", "swagger-ui.css": "text/css", "favicon.png": "image/png"}
    loaded = {urlsplit(url).path.rsplit("/", 1)[-1]: url for url in parser.urls}
    assert set(loaded) == set(expected_types), parser.urls
    for name, url in loaded.items():
        absolute = urljoin(f"{server.url}/api/docs/", url)
        assert absolute.startswith(f"{server.url}/api/docs/"), absolute
        asset = httpx.get(absolute, timeout=10)
        assert asset.status_code == 200, absolute
        assert expected_types[name] in asset.headers["content-type"], (absolute, asset.headers["content-type"])
        assert len(asset.content) > 500
    assert 'url: "/api/schema/"' in page.text or "url: '/api/schema/'" in page.text
    schema = httpx.get(f"{server.url}/api/schema/", timeout=10)
    assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.")
    assert httpx.get(f"{server.url}/api/docs", timeout=10).status_code == 200
    missing = httpx.get(f"{server.url}/api/docs/assets/nothing.js", timeout=10)
    assert missing.status_code == 404
    assert server.terminate() == 0
