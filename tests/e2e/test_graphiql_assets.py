"""GraphiQL's page and files come from the package (no CDN), each pinned by an integrity hash
the browser checks, under a Content-Security-Policy that allows this origin only."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest

from schema.graphiql import DIRECTORY
from tests.e2e.conftest import Api


def sri(body: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_graphiql_page_loads_pinned_files_from_this_server(api: Api) -> None:
    page = api.client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "<title>" in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "connect-src 'self';" in policy
    assert "unsafe" not in policy and "http" not in policy
    assert "//" not in page.text.replace("<!doctype html>", "")  # no other origin at all
    referenced = re.findall(r'(?:src|href)="(/graphiql/[^"]+)"\s+integrity="([^"]+)"', page.text)
    assert len(referenced) == page.text.count("/graphiql/") == 6
    for path, integrity in referenced:
        served = api.client.get(path)
        assert served.status_code == 200, path
        assert sri(served.content) == integrity, f"{path}: the page's hash is stale"
    assert api.client.get("/graphiql/vendor.json").status_code == 404  # only .js and .css


def test_vendored_files_are_the_pinned_upstream_builds() -> None:
    """vendor.json records each upstream file's hash; the files must still match it."""
    manifest = json.loads((DIRECTORY / "vendor.json").read_text())
    for package in manifest["packages"]:
        assert (DIRECTORY / package["licenseFile"]).read_text().startswith("MIT License")
        for name, expected in package["sha384"].items():
            assert sri((DIRECTORY / name).read_bytes()) == expected, name
