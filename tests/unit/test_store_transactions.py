"""The store's grouped writes: ``transaction()`` and the batch methods the sync's batches use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledgerlink.store import (
    Completion,
    Connection,
    IntentStateError,
    LinkConflictError,
    LinkWrite,
    PlannedWrite,
    Store,
)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledgerlink.sqlite'}"


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    with Store.open(url) as opened:
        yield opened


@pytest.fixture
def qbo(store: Store) -> Connection:
    return store.upsert_connection("qbo", "9130350000000001", "Whitfield & Ortiz LLP")


def link(conn: Connection, source_id: str, target_id: str, *, remove: bool = False) -> LinkWrite:
    return LinkWrite(conn.id, "invoice", source_id, target_id, f"h{source_id}", "0", None, remove)


def state_of(store: Store, key: str) -> str:
    intent = store.intent(key)
    assert intent is not None
    return intent.state


def planned(*source_ids: str) -> list[PlannedWrite]:
    return [PlannedWrite("create", "invoice", s, f"h{s}") for s in source_ids]


def test_send_intents_are_durable_as_sent_for_another_process(
    store: Store, qbo: Connection, url: str
) -> None:
    intents = store.send_intents(qbo.id, planned("1", "2", "3"))
    assert [i.state for i in intents] == ["sent"] * 3
    assert len({i.key for i in intents}) == 3
    with Store.open(url) as other:  # a separate engine: only committed rows are visible
        assert sorted((i.source_id, i.state) for i in other.open_intents(qbo.id)) == [
            ("1", "sent"),
            ("2", "sent"),
            ("3", "sent"),
        ]
        assert other.intent(intents[0].key) == intents[0]


def test_a_transaction_commits_once_at_its_end_and_rolls_back_whole(
    store: Store, qbo: Connection, url: str
) -> None:
    with Store.open(url) as other:
        with store.transaction():
            (intent,) = store.send_intents(qbo.id, planned("1"))
            store.save_link(qbo.id, "invoice", "1", "INV-1", content_hash="h1")
            assert store.link(qbo.id, "invoice", "1") is not None  # the block reads its own writes
        assert other.intent(intent.key) is not None and other.link(qbo.id, "invoice", "1") is not None

        with pytest.raises(RuntimeError), store.transaction():
            store.record_error(qbo.id, "invoice", "2", label="Bill 2", cause="x", message="m", remedy="r")
            with store.transaction():  # nested: joins the outer one
                store.complete_intents([Completion(intent.key, "INV-1", link=None)])
            raise RuntimeError("boom")
        assert other.open_errors(qbo.id) == []
        assert state_of(store, intent.key) == "sent"


def test_complete_intents_saves_every_link_and_resolve_errors_closes_them(
    store: Store, qbo: Connection
) -> None:
    intents = store.send_intents(qbo.id, planned("1", "2", "3"))
    for source_id in ("1", "3"):
        store.record_error(qbo.id, "invoice", source_id, label="b", cause="c", message="m", remedy="r")
    store.save_link(qbo.id, "invoice", "2", "OLD-2", content_hash="old")
    store.complete_intents(
        [
            Completion(i.key, f"INV-{i.source_id}", link=link(qbo, i.source_id, f"INV-{i.source_id}"))
            for i in intents
        ]
    )
    store.resolve_errors(qbo.id, [("invoice", "1"), ("invoice", "2")])
    assert [state_of(store, i.key) for i in intents] == ["done"] * 3
    assert [i.remote_id for i in map(store.intent, [intents[1].key]) if i] == ["INV-2"]
    links = store.links_of(qbo.id, [("invoice", "1"), ("invoice", "2"), ("invoice", "3"), ("invoice", "9")])
    assert {k: v.target_id for k, v in links.items()} == {
        ("invoice", "1"): "INV-1",
        ("invoice", "2"): "INV-2",
        ("invoice", "3"): "INV-3",
    }
    assert [e.source_id for e in store.open_errors(qbo.id)] == ["3"]


def test_a_target_freed_earlier_in_the_batch_can_be_taken_later_in_it(store: Store, qbo: Connection) -> None:
    store.save_link(qbo.id, "invoice", "1", "INV-A", content_hash="h")
    store.save_link(qbo.id, "invoice", "2", "INV-B", content_hash="h")
    intents = store.send_intents(qbo.id, planned("1", "2", "3"))
    store.complete_intents(
        [
            Completion(intents[0].key, "INV-C", link=link(qbo, "1", "INV-C")),  # 1 moves off INV-A
            Completion(intents[1].key, "INV-B", link=link(qbo, "2", "INV-B", remove=True)),  # frees INV-B
            Completion(intents[2].key, "INV-A", link=link(qbo, "3", "INV-A")),
        ]
    )
    wanted = [("invoice", "1"), ("invoice", "2"), ("invoice", "3")]
    assert {s: v.target_id for (_, s), v in store.links_of(qbo.id, wanted).items()} == {
        "1": "INV-C",
        "3": "INV-A",
    }


def test_a_conflict_or_a_bad_move_in_a_batch_saves_nothing_of_it(store: Store, qbo: Connection) -> None:
    store.save_link(qbo.id, "invoice", "1", "INV-1", content_hash="h")
    intents = store.send_intents(qbo.id, planned("2", "3"))
    with pytest.raises(LinkConflictError, match="already linked to source invoice 1"):
        store.complete_intents(
            [
                Completion(intents[0].key, "INV-2", link=link(qbo, "2", "INV-2")),
                Completion(intents[1].key, "INV-1", link=link(qbo, "3", "INV-1")),
            ]
        )
    assert [i.state for i in store.open_intents(qbo.id)] == ["sent", "sent"]
    assert store.link(qbo.id, "invoice", "2") is None

    store.complete_intents([Completion(intents[0].key, "INV-2", link=None)])
    with pytest.raises(IntentStateError, match="is done; it cannot become done"):
        store.complete_intents([Completion(intents[1].key, "X", None), Completion(intents[0].key, "X", None)])
    assert state_of(store, intents[1].key) == "sent"
    with pytest.raises(IntentStateError, match="there is no intent nope"):
        store.complete_intents([Completion("nope", "X", None)])
