"""ClioSource reads a big firm's bills in windows: same invoices, no request more, less held at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledgerlink.providers.clio import bills as clio_bills
from ledgerlink.providers.clio.bills import BillStream, flatten
from ledgerlink.providers.clio.source import ClioSource
from ledgerlink.sandbox import Sandbox, SandboxSettings, SandboxState
from tests.conftest import PathRecorder, sandbox_clio_client


@pytest.fixture(scope="module")
def demo() -> Iterator[Sandbox]:
    with Sandbox(SandboxState(settings=SandboxSettings(clio_rate_limit=100_000)), seed="demo") as box:
        yield box


def test_activities_read_in_rounds_give_the_same_invoices_with_no_request_more(
    demo: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    at_once = PathRecorder()
    with sandbox_clio_client(demo, at_once) as client:
        expected = ClioSource(client).changed_invoices(None, issued_after=None)

    monkeypatch.setattr(clio_bills, "ACTIVITIES_AT_ONCE", 150)  # the demo firm's ~700 lines: 4+ rounds
    in_rounds = PathRecorder()
    with sandbox_clio_client(demo, in_rounds) as client:
        invoices = ClioSource(client).changed_invoices(None, issued_after=None)

    assert invoices == expected
    assert sum(line.category is not None for i in invoices for line in i.lines) > 300
    assert in_rounds.paths.count("activities.json") == at_once.paths.count("activities.json")
    assert len(in_rounds.paths) == len(at_once.paths)


def test_a_bill_listed_twice_is_one_invoice(demo: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    with sandbox_clio_client(demo) as client:
        bills = list(client.bills())
        source = ClioSource(client)
        once = flatten(BillStream(client, bills, source._billing_settings).windows())
    monkeypatch.setattr(clio_bills, "ACTIVITIES_AT_ONCE", 100)
    with sandbox_clio_client(demo) as client:
        source = ClioSource(client)
        twice = flatten(BillStream(client, [*bills, *bills], source._billing_settings).windows())

    assert twice == once
    assert sum(line.category is not None for i in twice for line in i.lines) > 300


def test_the_first_window_comes_before_the_line_scan_ends(
    demo: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clio_bills, "ACTIVITIES_AT_ONCE", 100)
    recorder = PathRecorder()
    with sandbox_clio_client(demo, recorder) as client:
        windows = ClioSource(client).invoice_stream(None, issued_after=None).windows()
        first = next(windows)
        lines_read_then = recorder.paths.count("line_items.json")
        rest = [i for window in windows for i in window]

    assert first and rest
    assert lines_read_then < recorder.paths.count("line_items.json")
    assert len({i.source_id for i in [*first, *rest]}) == len(first) + len(rest)
