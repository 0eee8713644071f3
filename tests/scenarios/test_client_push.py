"""Client sync now (Firm360's "Sync Clients" / "Sync"): `sync --only contacts` and `sync --contact ID`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledgerlink.sandbox import Sandbox
from ledgerlink.sync.reading import STREAM_BILLS
from tests.scenarios.small_firm import SmallFirm, build_small_firm


@pytest.fixture
def small(empty_sandbox: Sandbox, tmp_path: Path) -> Iterator[SmallFirm]:
    yield build_small_firm(empty_sandbox, tmp_path)


def _customers(small: SmallFirm) -> dict[str, dict[str, object]]:
    return {str(c["DisplayName"]): c for c in small.qbo("Customer")}


def test_only_contacts_pushes_every_client_even_without_bills_and_nothing_else(small: SmallFirm) -> None:
    billed = small.client("Dana", "Whitfield", "dana@example.com")
    small.client("Avery", "Ames", "avery@example.com")  # no bill yet: a full pass would not push her
    small.bill(billed)

    pushed = small.cli("sync", "--only", "contacts")

    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert set(_customers(small)) == {"Dana Whitfield", "Avery Ames"}
    assert small.qbo("Invoice") == []  # bills follow in the next full pass
    again = small.cli("sync", "--only", "contacts")
    assert again.returncode == 0 and "Nothing to write" in again.stdout
    assert len(small.qbo("Customer")) == 2

    full = small.cli("sync", "--once")
    assert full.returncode == 0, full.stdout
    assert len(small.qbo("Invoice")) == 1 and len(small.qbo("Customer")) == 2  # linked, not duplicated


def test_contact_pushes_one_contact_now_and_its_edits_later(small: SmallFirm) -> None:
    dana = small.client("Dana", "Whitfield", "dana@example.com")
    small.client("Avery", "Ames")

    pushed = small.cli("sync", "--contact", str(dana))
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert set(_customers(small)) == {"Dana Whitfield"}

    small.sandbox.clio.update_contact(dana, last_name="Whitfield-Osei", name="Dana Whitfield-Osei")
    edited = small.cli("sync", "--contact", str(dana))
    assert edited.returncode == 0, edited.stdout + edited.stderr
    assert set(_customers(small)) == {"Dana Whitfield-Osei"}
    with small.workspace() as workspace:
        conn = workspace.connection("qbo").id
        assert set(workspace.store.links(conn, "contact")) == {str(dana)}
        assert workspace.store.cursor(conn, STREAM_BILLS) is None  # the full pass's cursors are left alone


def test_an_unknown_contact_id_is_a_usage_error_that_sends_nothing(small: SmallFirm) -> None:
    start = len(small.sandbox.state.request_log)
    refused = small.cli("sync", "--contact", "999999")
    assert refused.returncode == 2
    assert "Clio has no contact with id 999999" in refused.stderr
    sent = small.sandbox.state.request_log[start:]
    assert [
        r for r in sent if r[1].startswith(("/clio/api/", "/qbo/v3/")) and r[0] not in ("GET", "POST")
    ] == []
    assert not [r for r in sent if r[0] == "POST" and not r[1].endswith("/query") and "/oauth" not in r[1]]
