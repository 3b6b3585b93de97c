"""Every list route pages with ``cursor=`` and ``limit=`` (SPEC §11): walking the pages with
``limit=1`` yields the whole list once, in order; bad cursors and limits are 422s."""

from __future__ import annotations

import pytest

from ..support.api import Api

# (route, who lists it): each list has at least two items in the test world.
LISTS = [
    ("/api/users", "msp"),
    ("/api/companies", "msp"),
    ("/api/runbooks", "msp"),
    ("/api/approvals", "msp"),
    ("/api/companies/co-acme/assets", "acme_admin"),
]


def _add_more(api: Api) -> None:
    """A second asset for acme, so every list above has several items."""
    created = api.client.post(
        "/api/companies/co-acme/assets", headers=api.auth("msp"), json={"name": "acme-web-02"}
    )
    assert created.status_code == 201, created.text


def _walk(api: Api, route: str, who: str) -> list[str]:
    seen: list[str] = []
    url = f"{route}?limit=1"
    for _ in range(100):
        response = api.client.get(url, headers=api.auth(who))
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 1
        seen += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            return seen
        url = f"{route}?limit=1&cursor={page['next_cursor']}"
    raise AssertionError("the cursor never ran out")


@pytest.mark.parametrize(("route", "who"), LISTS)
def test_walking_pages_of_one_yields_the_whole_list_in_order(
    api: Api, route: str, who: str
) -> None:
    _add_more(api)
    whole = api.client.get(f"{route}?limit=500", headers=api.auth(who)).json()
    assert whole["next_cursor"] is None
    expected = [item["id"] for item in whole["items"]]
    assert len(expected) >= 2
    assert _walk(api, route, who) == expected


@pytest.mark.parametrize(("route", "who"), LISTS)
def test_the_default_page_is_fifty_and_says_there_is_no_more(
    api: Api, route: str, who: str
) -> None:
    page = api.client.get(route, headers=api.auth(who)).json()
    assert set(page) == {"items", "next_cursor"}
    assert page["next_cursor"] is None


@pytest.mark.parametrize(("route", "who"), LISTS)
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("cursor=%21%21", "cursor"),
        ("cursor=WyJ4Il0", "cursor"),  # a well-formed cursor of the wrong shape
        ("cursor=WzEsMl0", "cursor"),  # [1, 2]: numbers where text belongs
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
    ],
)
def test_a_bad_cursor_or_limit_is_a_422_naming_it(
    api: Api, route: str, who: str, query: str, field: str
) -> None:
    response = api.client.get(f"{route}?{query}", headers=api.auth(who))
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_pages_keep_tenants_apart(api: Api) -> None:
    for route in ("/api/users", "/api/runbooks", "/api/approvals"):
        ids = _walk(api, route, "acme_admin")
        assert ids
        body = str(ids)
        assert "globex" not in body
