"""The Clio emulator's list pages come from its indexes, and are exactly what a scan of the store gives.

Each page is compared with the emulator's own filters and paging applied to every record of the
kind (the scan the indexes replace), after inserts, edits, deletions and clock moves.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerlink.sandbox import Sandbox, SandboxState
from ledgerlink.sandbox.clio import ClioEmulator
from ledgerlink.sandbox.clio_http import COMMON_LIST_PARAMS, LISTINGS, group_params, list_query, paginate
from tests.conftest import fast_settings

Params = list[tuple[str, str]]


def _api(box: Sandbox) -> httpx.Client:
    token = box.state.tokens.issue("clio", "sandbox-clio-app", None).access_token
    return httpx.Client(base_url=box.urls.clio_api, headers={"Authorization": f"Bearer {token}"})


def _firm(emu: ClioEmulator, bills: int = 6) -> list[int]:
    """A client with ``bills`` approved bills of two lines each, a minute apart; the bill ids."""
    client = emu.add_contact(type="Company", name="Acme Holdings", is_client=True)
    matter = emu.add_matter(client=client["id"], display_number="00001-Acme")
    ids = []
    for n in range(bills):
        emu.state.clock.advance(60)
        bill = emu.add_bill(client=client["id"], matters=[matter["id"]], number=str(n + 1), state="draft")
        for price in ("100.00", "25.50"):
            emu.add_line_item(bill=bill["id"], kind="Service", description="Work", price=Decimal(price))
        ids.append(bill["id"])
    return ids


def _expected(emu: ClioEmulator, path: str, params: Params) -> tuple[list[int], dict[str, str]]:
    """What a scan of every record answers: the page's ids and its paging parameters."""
    listing = LISTINGS[path]
    query = list_query(group_params(params, COMMON_LIST_PARAMS | listing.filters.keys(), {"ids[]"}), listing)
    rows = [r for r in emu.records(listing.kind) if all(p(r) for p in query.predicates)]
    page = paginate(rows, query)
    paging = {f"{name}:{k}": v for name, link in (("previous", page.previous), ("next", page.next)) if link
              for k, v in link.items()}  # fmt: skip
    return [r["id"] for r in page.rows], paging


def _answered(api: httpx.Client, url: str) -> tuple[list[int], dict[str, str], dict[str, Any]]:
    response = api.get(url)
    assert response.status_code == 200, response.text
    body = response.json()
    paging = {
        f"{name}:{key}": value
        for name, link in body["meta"]["paging"].items()
        for key, value in httpx.URL(link).params.items()
        if key in ("page_token", "offset")
    }
    return [item["id"] for item in body["data"]], paging, body


def _walk(emu: ClioEmulator, api: httpx.Client, path: str, params: Params) -> list[int]:
    """Follow every next link, checking each page and its previous page against a scan; the ids seen."""
    seen: list[int] = []
    url: str | None = f"/{path}.json?{urlencode(params)}"
    while url is not None:
        asked = list(httpx.URL(url).params.multi_items())
        ids, paging, body = _answered(api, url)
        assert (ids, paging) == _expected(emu, path, asked)
        seen += ids
        if "previous:page_token" in paging:
            before = [(k, v) for k, v in asked if k != "page_token"] + [
                ("page_token", paging["previous:page_token"])
            ]
            assert _answered(api, f"/{path}.json?{urlencode(before)}")[:2] == _expected(emu, path, before)
        url = body["meta"]["paging"].get("next")
    return seen


@pytest.fixture
def emu(empty_sandbox: Sandbox) -> ClioEmulator:
    return empty_sandbox.clio


@pytest.fixture
def api(empty_sandbox: Sandbox) -> Iterator[httpx.Client]:
    with _api(empty_sandbox) as client:
        yield client


def test_an_edit_moves_a_record_to_the_end_of_the_updated_since_order(
    emu: ClioEmulator, api: httpx.Client
) -> None:
    bills = _firm(emu)
    before_edit = datetime.fromtimestamp(emu.state.clock.now(), UTC)
    emu.state.clock.advance(60)
    emu.update_bill(bills[1], subject="Revised")

    since = [("updated_since", before_edit.isoformat()), ("limit", "1")]
    assert _walk(emu, api, "bills", since) == [bills[1]]
    assert _walk(
        emu, api, "bills", [("updated_since", (before_edit - timedelta(seconds=30)).isoformat())]
    ) == [
        bills[1],
        bills[-1],
    ]


def test_a_line_edit_bumps_its_bill_into_the_updated_since_window(
    emu: ClioEmulator, api: httpx.Client
) -> None:
    bills = _firm(emu)
    line = emu.records("line_item")[0]
    before_edit = datetime.fromtimestamp(emu.state.clock.now(), UTC)
    emu.state.clock.advance(60)
    emu.update_line_item(line["id"], price=Decimal("120.00"))

    assert _walk(emu, api, "bills", [("updated_since", before_edit.isoformat())]) == [bills[0]]
    assert _walk(emu, api, "line_items", [("updated_since", before_edit.isoformat())]) == [line["id"]]


def test_a_deleted_line_leaves_every_listing(emu: ClioEmulator, api: httpx.Client) -> None:
    bills = _firm(emu)
    first, second = (r["id"] for r in emu.records("line_item") if r["bill"] == bills[2])
    emu.delete_line_item(first)

    assert _walk(emu, api, "line_items", [("bill_id", str(bills[2]))]) == [second]
    assert first not in _walk(emu, api, "line_items", [("limit", "3")])
    assert _walk(emu, api, "line_items", [("ids[]", str(first))]) == []
    long_ago = datetime(2020, 1, 1, tzinfo=UTC).isoformat()
    assert first not in _walk(emu, api, "line_items", [("created_since", long_ago), ("limit", "4")])


def test_a_deleted_activity_leaves_its_matter_listing(emu: ClioEmulator, api: httpx.Client) -> None:
    _firm(emu, bills=1)
    matter = emu.records("matter")[0]["id"]
    kept, gone = (
        emu.add_activity(type="ExpenseEntry", price=Decimal("10.00"), matter=matter, note=note)["id"]
        for note in ("kept", "gone")
    )
    assert api.delete(f"/activities/{gone}.json").status_code == 204

    assert _walk(emu, api, "activities", [("matter_id", str(matter))]) == [kept]


def test_created_since_with_a_seed_stamp_without_offset_fails_as_a_scan_would(
    emu: ClioEmulator, api: httpx.Client
) -> None:
    """A naive created_at cannot be ordered against the bound: the emulator scans, and comparing it fails."""
    for n in range(3):
        emu.add_contact(type="Company", name=f"Aware {n} Ltd")
    emu.add_contact(type="Company", name="Naive Ltd", created_at=datetime(2026, 1, 1))

    response = api.get("/contacts.json", params={"created_since": "2025-01-01T00:00:00+00:00", "limit": 1})

    assert response.status_code == 500


# -- every page, after any history, is the page a scan gives ---------------------------------------

OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), st.integers(0, 120)),
        st.tuples(st.just("edit_bill"), st.integers(0, 20)),
        st.tuples(st.just("edit_line"), st.integers(0, 40)),
        st.tuples(st.just("delete_line"), st.integers(0, 40)),
        st.tuples(st.just("add_line"), st.integers(0, 20)),
        st.tuples(st.just("add_bill"), st.integers(0, 1)),
    ),
    max_size=25,
)
QUERIES = st.fixed_dictionaries(
    {
        "path": st.sampled_from(["bills", "line_items"]),
        "limit": st.integers(1, 4),
        "since": st.one_of(st.none(), st.integers(0, 200)),
        "created": st.one_of(st.none(), st.integers(0, 200)),
        "parent": st.booleans(),
        "ids": st.one_of(st.none(), st.lists(st.integers(0, 40), max_size=6)),
        "order": st.sampled_from([None, "id(desc)", "id(asc)", "issued_at(asc)"]),
    }
)


def _apply(emu: ClioEmulator, operation: tuple[str, int]) -> None:
    kind, n = operation
    bills, lines = emu.records("bill"), emu.records("line_item")
    if kind == "advance":
        emu.state.clock.advance(n)
    elif kind == "edit_bill" and bills:
        emu.update_bill(bills[n % len(bills)]["id"], subject=f"Edit {n}")
    elif kind == "edit_line" and lines:
        emu.update_line_item(lines[n % len(lines)]["id"], price=Decimal(n))
    elif kind == "delete_line" and lines:
        emu.delete_line_item(lines[n % len(lines)]["id"])
    elif kind == "add_line" and bills:
        emu.add_line_item(
            bill=bills[n % len(bills)]["id"], kind="Expense", description="Fee", price=Decimal(n)
        )
    elif kind == "add_bill":
        client = emu.records("contact")[0]["id"]
        emu.add_bill(client=client, matters=[emu.records("matter")[0]["id"]], number=f"X{len(bills)}")


def _params(emu: ClioEmulator, query: dict[str, Any]) -> Params:
    """The list parameters a drawn query stands for, against the records the emulator now holds."""
    lines = query["path"] == "line_items"
    kind_records = emu.records("line_item" if lines else "bill")

    def moment(field: str, n: int) -> str:
        """One of the records' own stamps, or a second before it: where a stale index would show."""
        stamps: list[datetime] = sorted(r[field] for r in kind_records) or [datetime.now(UTC)]
        return (stamps[n % len(stamps)] - timedelta(seconds=n % 2)).isoformat()

    params: Params = [("limit", str(query["limit"])), ("fields", "id")]
    if query["since"] is not None:
        params.append(("updated_since", moment("updated_at", query["since"])))
    if query["created"] is not None:
        params.append(("created_since", moment("created_at", query["created"])))
    bills = emu.records("bill")
    if query["parent"]:  # a bill's lines, or a client's bills
        params.append(("bill_id", str(bills[-1]["id"])) if lines else ("client_id", str(bills[0]["client"])))
    if query["ids"] is not None:
        pool = [r["id"] for r in kind_records] + [1]  # and one unknown id
        params += [("ids[]", str(pool[i % len(pool)])) for i in query["ids"]]
    if query["order"] is not None and (query["order"].startswith("id") or not lines):
        params.append(("order", query["order"]))
    return params


@settings(max_examples=25, deadline=None)
@given(operations=OPERATIONS, queries=st.lists(QUERIES, min_size=1, max_size=4))
def test_every_page_after_any_history_is_the_page_a_scan_gives(
    operations: list[tuple[str, int]], queries: list[dict[str, Any]]
) -> None:
    with Sandbox(SandboxState(settings=fast_settings()), seed="empty") as box, _api(box) as api:
        _firm(box.clio, bills=4)
        for operation in operations:
            _apply(box.clio, operation)
        for query in queries:
            _walk(box.clio, api, query["path"], _params(box.clio, query))
