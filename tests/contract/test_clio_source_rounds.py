"""ClioSource reads a big firm's activities in rounds: same invoices, no request more, less held at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledgerlink.providers.clio import source as clio_source
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

    monkeypatch.setattr(clio_source, "ACTIVITIES_AT_ONCE", 150)  # the demo firm's ~700 lines: 4+ rounds
    in_rounds = PathRecorder()
    with sandbox_clio_client(demo, in_rounds) as client:
        invoices = ClioSource(client).changed_invoices(None, issued_after=None)

    assert invoices == expected
    assert sum(line.category is not None for i in invoices for line in i.lines) > 300
    assert in_rounds.paths.count("activities.json") == at_once.paths.count("activities.json")
    assert len(in_rounds.paths) == len(at_once.paths)


def test_bills_listed_twice_keep_their_categories_in_rounds(
    demo: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sandbox_clio_client(demo) as client:
        bills = list(client.bills())
        once = ClioSource(client)._invoices(bills)
    monkeypatch.setattr(clio_source, "ACTIVITIES_AT_ONCE", 100)
    with sandbox_clio_client(demo) as client:
        twice = ClioSource(client)._invoices([*bills, *bills])

    assert twice == once + once
    assert sum(line.category is not None for i in twice[len(once) :] for line in i.lines) > 300
