"""The store, on real SQLite files: schema, links, intents, cursors, errors, runs and the pass lock."""

from __future__ import annotations

import dataclasses
import io
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledgerlink.errors import LockHeldError, SystemicError
from ledgerlink.store import (
    Connection,
    Intent,
    IntentStateError,
    Link,
    LinkConflictError,
    LinkWrite,
    Run,
    Store,
    StoreError,
    SyncError,
    migrate,
)
from ledgerlink.store.database import alembic_config, create_store_engine
from ledgerlink.store.models import Base

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
TABLES = {"connections", "links", "intents", "cursors", "sync_errors", "runs", "locks"}


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state' / 'ledgerlink.sqlite'}"


@pytest.fixture
def store(url: str, clock: FakeClock) -> Iterator[Store]:
    with Store.open(url, clock=clock) as opened:
        yield opened


@pytest.fixture
def qbo(store: Store) -> Connection:
    return store.upsert_connection("qbo", "9130350000000001", "Whitfield & Ortiz LLP")


def tables_of(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


# ---------------------------------------------------------------------------------------------
# Schema and migrations


def test_opening_a_fresh_file_creates_its_folder_and_every_table(url: str, tmp_path: Path) -> None:
    assert not (tmp_path / "state").exists()

    Store.open(url).close()

    assert (tmp_path / "state" / "ledgerlink.sqlite").is_file()
    assert tables_of(url) == TABLES | {"alembic_version"}


def test_upgrading_an_up_to_date_store_changes_nothing(url: str, clock: FakeClock) -> None:
    with Store.open(url, clock=clock) as first:
        connection = first.upsert_connection("clio", "42", "Whitfield & Ortiz")
    engine = create_store_engine(url)
    try:
        migrate(engine)  # a second upgrade on top of the one Store.open ran
        with engine.connect() as conn:
            versions = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    finally:
        engine.dispose()

    with Store.open(url, clock=clock) as again:
        assert again.connections() == [connection]
    assert versions == [ScriptDirectory.from_config(alembic_config()).get_current_head()]
    assert tables_of(url) == TABLES | {"alembic_version"}


def test_models_describe_exactly_the_schema_the_migrations_build(store: Store, url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_migration_renders_postgresql_ddl_with_zones_and_the_partial_index() -> None:
    config = alembic_config()
    config.set_main_option("sqlalchemy.url", "postgresql://ledgerlink@localhost/ledgerlink")
    config.output_buffer = io.StringIO()

    command.upgrade(config, "head", sql=True)

    ddl = config.output_buffer.getvalue()
    assert "connected_at TIMESTAMP WITH TIME ZONE NOT NULL" in ddl
    assert (
        "CREATE UNIQUE INDEX uq_sync_errors_open ON sync_errors (connection_id, kind, source_id) "
        "WHERE resolved_at IS NULL" in ddl
    )
    assert "ALTER TABLE sync_errors ADD COLUMN parked_at TIMESTAMP WITH TIME ZONE" in ddl


def test_sqlite_store_runs_in_wal_with_foreign_keys_and_a_busy_timeout(store: Store, url: str) -> None:
    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            pragmas = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            }
    finally:
        engine.dispose()

    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30_000}


def test_no_column_can_hold_a_secret() -> None:
    columns = {f"{table.name}.{column.name}" for table in Base.metadata.tables.values() for column in table.c}
    suspicious = {
        c for c in columns if any(w in c for w in ("secret", "password", "access", "refresh", "bearer"))
    }

    assert suspicious == set()
    assert {c for c in columns if "token" in c} == {"links.version_token"}


def test_writes_are_visible_to_another_handle_at_once(store: Store, url: str) -> None:
    other = Store.open(url)
    try:
        connection = store.upsert_connection("qbo", "1", "Firm")
        store.save_link(connection.id, "contact", "7", "58", content_hash="h1")

        assert other.link(connection.id, "contact", "7") == store.link(connection.id, "contact", "7")
    finally:
        other.close()


# ---------------------------------------------------------------------------------------------
# Connections


def test_upsert_connection_creates_then_refreshes_the_same_row(store: Store, clock: FakeClock) -> None:
    created = store.upsert_connection("qbo", "9130", "Old Name LLP", region="us")
    clock.advance(60)

    refreshed = store.upsert_connection("qbo", "9130", "New Name LLP", region="us")

    assert refreshed == dataclasses.replace(created, name="New Name LLP")
    assert created == Connection(
        id=created.id,
        provider="qbo",
        external_id="9130",
        name="Old Name LLP",
        region="us",
        connected_at=T0,
        disconnected_at=None,
        retired_at=None,
    )


def test_times_come_back_in_utc_whatever_zone_the_clock_speaks(url: str) -> None:
    paris = timezone(timedelta(hours=1))
    with Store.open(url, clock=lambda: datetime(2025, 3, 1, 10, 0, tzinfo=paris)) as store:
        connection = store.upsert_connection("clio", "1", "Firm")

    assert connection.connected_at == T0
    assert connection.connected_at.tzinfo == UTC


def test_a_naive_clock_is_refused(url: str) -> None:
    with Store.open(url, clock=lambda: datetime(2025, 3, 1, 9, 0)) as store, pytest.raises(ValueError):
        store.upsert_connection("clio", "1", "Firm")


def test_reconnecting_clears_disconnected_and_keeps_the_links(
    store: Store, qbo: Connection, clock: FakeClock
) -> None:
    link = store.save_link(qbo.id, "contact", "7", "58", content_hash="h1")
    clock.advance(60)
    store.mark_disconnected(qbo.id)
    assert store.active_connection("qbo") is None
    clock.advance(60)

    reconnected = store.upsert_connection("qbo", qbo.external_id, qbo.name)

    assert reconnected == dataclasses.replace(qbo, connected_at=clock.now)
    assert store.active_connection("qbo") == reconnected
    assert store.links(qbo.id, "contact") == {"7": link}


def test_active_connection_is_the_newest_live_one(store: Store, clock: FakeClock) -> None:
    first = store.upsert_connection("qbo", "1", "First Company")
    clock.advance(60)
    second = store.upsert_connection("qbo", "2", "Second Company")
    clio = store.upsert_connection("clio", "1", "The Firm")

    assert store.active_connection("qbo") == second
    assert store.active_connection("clio") == clio
    store.mark_disconnected(second.id)
    assert store.active_connection("qbo") == first
    store.retire_connection(first.id)
    assert store.active_connection("qbo") is None
    assert [c.id for c in store.connections()] == [first.id, second.id, clio.id]
    assert [c.active for c in store.connections()] == [False, False, True]


def test_unknown_provider_is_refused_naming_the_known_ones(store: Store) -> None:
    with pytest.raises(ValueError, match="clio, qbo, xero"):
        store.upsert_connection("quickbooks", "1", "Firm")


def test_disconnecting_an_unknown_connection_is_a_store_error(store: Store) -> None:
    with pytest.raises(StoreError, match="no connection 404"):
        store.mark_disconnected(404)


# ---------------------------------------------------------------------------------------------
# Links


def test_save_link_round_trips_every_field(store: Store, qbo: Connection) -> None:
    saved = store.save_link(
        qbo.id,
        "contact",
        "7",
        "58",
        content_hash="h1",
        version_token="0",
        snapshot={"name": "Dana Whitfield"},
    )

    assert saved == Link(
        id=saved.id,
        connection_id=qbo.id,
        kind="contact",
        source_id="7",
        target_id="58",
        content_hash="h1",
        version_token="0",
        snapshot={"name": "Dana Whitfield"},
        created_at=T0,
        updated_at=T0,
    )
    assert store.link(qbo.id, "contact", "7") == saved
    assert store.link_by_target(qbo.id, "contact", "58") == saved
    assert store.links(qbo.id, "contact") == {"7": saved}


def test_save_link_replaces_the_link_of_the_same_source(
    store: Store, qbo: Connection, clock: FakeClock
) -> None:
    first = store.save_link(
        qbo.id, "contact", "7", "58", content_hash="h1", version_token="0", snapshot={"a": 1}
    )
    clock.advance(60)

    second = store.save_link(qbo.id, "contact", "7", "58", content_hash="h2", version_token="1")

    assert second == dataclasses.replace(
        first, content_hash="h2", version_token="1", snapshot=None, updated_at=clock.now
    )
    assert store.links(qbo.id, "contact") == {"7": second}


def test_a_second_source_for_the_same_target_is_a_link_conflict(store: Store, qbo: Connection) -> None:
    original = store.save_link(qbo.id, "contact", "7", "58", content_hash="h1")

    with pytest.raises(LinkConflictError) as caught:
        store.save_link(qbo.id, "contact", "8", "58", content_hash="h2")

    assert str(caught.value) == (
        "contact 58 in the ledger is already linked to source contact 7; "
        "refusing to link source contact 8 to it as well"
    )
    assert isinstance(caught.value, SystemicError)
    assert store.links(qbo.id, "contact") == {"7": original}


def test_the_same_ids_in_other_kinds_and_connections_are_separate_links(
    store: Store, qbo: Connection
) -> None:
    xero = store.upsert_connection("xero", "tenant-1", "Firm (Xero)")

    contact = store.save_link(qbo.id, "contact", "7", "58", content_hash="h")
    invoice = store.save_link(qbo.id, "invoice", "7", "58", content_hash="h")
    elsewhere = store.save_link(xero.id, "contact", "7", "58", content_hash="h")

    assert store.links(qbo.id, "contact") == {"7": contact}
    assert store.links(qbo.id, "invoice") == {"7": invoice}
    assert store.links(xero.id, "contact") == {"7": elsewhere}


def test_a_link_shares_no_state_with_the_snapshot_it_was_given(store: Store, qbo: Connection) -> None:
    snapshot = {"emails": ["dana@example.com"]}
    saved = store.save_link(qbo.id, "contact", "7", "58", content_hash="h", snapshot=snapshot)

    snapshot["emails"].append("other@example.com")

    assert saved.snapshot == {"emails": ["dana@example.com"]}
    stored = store.link(qbo.id, "contact", "7")
    assert stored is not None and stored.snapshot == {"emails": ["dana@example.com"]}


def test_links_read_in_bulk_share_no_state_with_the_store_or_each_other(
    store: Store, qbo: Connection
) -> None:
    store.save_link(qbo.id, "contact", "7", "58", content_hash="h", snapshot={"emails": ["dana@example.com"]})

    first = store.links(qbo.id, "contact")["7"]
    assert first.snapshot is not None
    first.snapshot["emails"].append("other@example.com")

    assert store.links(qbo.id, "contact")["7"].snapshot == {"emails": ["dana@example.com"]}
    assert store.links_of(qbo.id, [("contact", "7")])[("contact", "7")].snapshot == {
        "emails": ["dana@example.com"]
    }


def test_links_inside_a_transaction_see_its_own_unsaved_links(store: Store, qbo: Connection) -> None:
    with store.transaction():
        saved = store.save_link(qbo.id, "invoice", "7", "58", content_hash="h", snapshot={"n": 1})
        assert store.links(qbo.id, "invoice") == {"7": saved}
        assert store.links_of(qbo.id, [("invoice", "7")]) == {("invoice", "7"): saved}


# ---------------------------------------------------------------------------------------------
# Intents


def test_begin_intent_is_planned_under_a_fresh_key_qbo_accepts_as_requestid(
    store: Store, qbo: Connection
) -> None:
    intent = store.begin_intent(qbo.id, "create", "invoice", "1043", "p1")
    other = store.begin_intent(qbo.id, "create", "invoice", "1044", "p2")

    assert intent == Intent(
        key=intent.key,
        connection_id=qbo.id,
        op="create",
        kind="invoice",
        source_id="1043",
        payload_hash="p1",
        state="planned",
        remote_id=None,
        error=None,
        created_at=T0,
        updated_at=T0,
    )
    assert len(intent.key) <= 36 and intent.key != other.key


def test_an_intent_goes_planned_sent_done_and_saves_its_link(
    store: Store, qbo: Connection, clock: FakeClock
) -> None:
    intent = store.begin_intent(qbo.id, "create", "contact", "7", "p1")
    store.mark_intent_sent(intent.key)
    clock.advance(1)

    store.complete_intent(intent.key, "58", link=LinkWrite(qbo.id, "contact", "7", "58", "p1", "0"))

    assert store.intent(intent.key) == dataclasses.replace(
        intent, state="done", remote_id="58", updated_at=clock.now
    )
    link = store.link(qbo.id, "contact", "7")
    assert link is not None and (link.target_id, link.content_hash, link.version_token) == ("58", "p1", "0")
    assert store.open_intents(qbo.id) == []


def test_complete_intent_changes_nothing_when_its_link_conflicts(store: Store, qbo: Connection) -> None:
    existing = store.save_link(qbo.id, "contact", "7", "58", content_hash="h7")
    intent = store.begin_intent(qbo.id, "create", "contact", "8", "h8")
    store.mark_intent_sent(intent.key)
    sent = store.intent(intent.key)

    with pytest.raises(LinkConflictError):
        store.complete_intent(intent.key, "58", link=LinkWrite(qbo.id, "contact", "8", "58", "h8"))

    assert store.intent(intent.key) == sent
    assert store.links(qbo.id, "contact") == {"7": existing}


def test_complete_intent_changes_nothing_when_its_link_names_no_connection(
    store: Store, qbo: Connection
) -> None:
    intent = store.begin_intent(qbo.id, "create", "contact", "7", "h7")
    store.mark_intent_sent(intent.key)
    sent = store.intent(intent.key)

    with pytest.raises(sa.exc.IntegrityError):
        store.complete_intent(intent.key, "58", link=LinkWrite(404, "contact", "7", "58", "h7"))

    assert store.intent(intent.key) == sent
    assert store.link_by_target(404, "contact", "58") is None


def test_uncertain_intent_can_be_resent_and_then_completed(store: Store, qbo: Connection) -> None:
    intent = store.begin_intent(qbo.id, "update", "invoice", "1043", "p1")
    store.mark_intent_sent(intent.key)
    store.mark_intent_uncertain(intent.key, "timed out after 30 s")
    uncertain = store.intent(intent.key)
    assert uncertain is not None and (uncertain.state, uncertain.error) == (
        "uncertain",
        "timed out after 30 s",
    )

    store.mark_intent_sent(intent.key)
    store.complete_intent(intent.key, "130", link=None)

    done = store.intent(intent.key)
    assert done is not None and (done.state, done.remote_id) == ("done", "130")
    assert store.links(qbo.id, "invoice") == {}


@pytest.mark.parametrize("final", ["done", "failed"])
def test_done_and_failed_intents_are_final(store: Store, qbo: Connection, final: str) -> None:
    intent = store.begin_intent(qbo.id, "create", "contact", "7", "p1")
    if final == "done":
        store.complete_intent(intent.key, "58", link=None)
    else:
        store.fail_intent(intent.key, "Duplicate Name Exists Error")
    closed = store.intent(intent.key)

    moves: list[Callable[[], None]] = [
        lambda: store.mark_intent_sent(intent.key),
        lambda: store.mark_intent_uncertain(intent.key, "timeout"),
        lambda: store.fail_intent(intent.key, "again"),
        lambda: store.complete_intent(intent.key, "59", link=None),
    ]
    for move in moves:
        with pytest.raises(IntentStateError, match=f"is {final}"):
            move()
    assert store.intent(intent.key) == closed


def test_open_intents_are_the_unresolved_ones_oldest_first(
    store: Store, qbo: Connection, clock: FakeClock
) -> None:
    clio = store.upsert_connection("clio", "1", "The Firm")
    keys = {}
    for source_id, fate in [
        ("1", "uncertain"),
        ("2", "done"),
        ("3", "sent"),
        ("4", "failed"),
        ("5", "planned"),
    ]:
        intent = store.begin_intent(qbo.id, "create", "invoice", source_id, "p")
        keys[source_id] = intent.key
        if fate == "uncertain":
            store.mark_intent_uncertain(intent.key, "dropped response")
        elif fate == "done":
            store.complete_intent(intent.key, "r", link=None)
        elif fate == "sent":
            store.mark_intent_sent(intent.key)
        elif fate == "failed":
            store.fail_intent(intent.key, "refused")
        clock.advance(1)
    store.begin_intent(clio.id, "update", "contact", "9", "p")

    leftovers = store.open_intents(qbo.id)

    assert [(i.source_id, i.state) for i in leftovers] == [
        ("1", "uncertain"),
        ("3", "sent"),
        ("5", "planned"),
    ]
    assert [i.key for i in leftovers] == [keys["1"], keys["3"], keys["5"]]


def test_an_unknown_intent_key_is_an_intent_state_error(store: Store) -> None:
    with pytest.raises(IntentStateError, match="no intent nope"):
        store.mark_intent_sent("nope")


def test_an_unknown_op_is_refused(store: Store, qbo: Connection) -> None:
    with pytest.raises(ValueError, match="create, update, delete, void, link"):
        store.begin_intent(qbo.id, "upsert", "contact", "7", "p")


# ---------------------------------------------------------------------------------------------
# Cursors


def test_a_cursor_is_none_before_the_first_pass(store: Store, qbo: Connection) -> None:
    assert store.cursor(qbo.id, "bills") is None


def test_a_cursor_never_moves_backwards(store: Store, qbo: Connection) -> None:
    store.set_cursor(qbo.id, "bills", T0)
    store.set_cursor(qbo.id, "bills", T0 - timedelta(days=1))
    assert store.cursor(qbo.id, "bills") == T0

    store.set_cursor(qbo.id, "bills", T0 + timedelta(minutes=5))
    assert store.cursor(qbo.id, "bills") == T0 + timedelta(minutes=5)


def test_cursors_are_kept_per_connection_and_stream(store: Store, qbo: Connection) -> None:
    clio = store.upsert_connection("clio", "1", "The Firm")
    store.set_cursor(clio.id, "bills", T0)
    store.set_cursor(clio.id, "contacts", T0 + timedelta(hours=1))

    assert store.cursor(clio.id, "bills") == T0
    assert store.cursor(clio.id, "contacts") == T0 + timedelta(hours=1)
    assert store.cursor(qbo.id, "bills") is None


def test_a_naive_high_water_mark_is_refused(store: Store, qbo: Connection) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.set_cursor(qbo.id, "bills", datetime(2025, 3, 1, 9, 0))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
        min_size=1,
        max_size=6,
    )
)
def test_a_cursor_holds_the_latest_mark_ever_set(
    store: Store, qbo: Connection, marks: list[datetime]
) -> None:
    stream = uuid.uuid4().hex  # a fresh stream per example: the store outlives the examples
    for mark in marks:
        store.set_cursor(qbo.id, stream, mark)

    assert store.cursor(qbo.id, stream) == max(marks)


# ---------------------------------------------------------------------------------------------
# Sync errors


def record_duplicate_name(
    store: Store, connection: Connection, *, message: str, run_id: int | None
) -> SyncError:
    return store.record_error(
        connection.id,
        "contact",
        "7",
        label="Dana Whitfield",
        cause="duplicate_name",
        message=message,
        remedy="Rename the vendor or employee in QuickBooks, or the contact in Clio.",
        run_id=run_id,
    )


def test_record_error_keeps_one_open_row_and_counts_attempts(
    store: Store, qbo: Connection, clock: FakeClock
) -> None:
    first_run = store.start_run(dry_run=False)
    first = record_duplicate_name(store, qbo, message="Duplicate Name Exists Error", run_id=first_run)
    clock.advance(3600)
    second_run = store.start_run(dry_run=False)

    second = record_duplicate_name(store, qbo, message="The name supplied already exists.", run_id=second_run)

    assert second == SyncError(
        id=first.id,
        connection_id=qbo.id,
        kind="contact",
        source_id="7",
        label="Dana Whitfield",
        cause="duplicate_name",
        message="The name supplied already exists.",
        remedy="Rename the vendor or employee in QuickBooks, or the contact in Clio.",
        retryable=True,
        blocked_by=None,
        attempts=2,
        first_seen=T0,
        last_seen=clock.now,
        resolved_at=None,
        run_id=second_run,
    )
    assert store.open_errors() == [second]


def test_a_blocked_child_names_its_parent(store: Store, qbo: Connection) -> None:
    blocked = store.record_error(
        qbo.id,
        "payment",
        "501",
        label="Payment of Bill 1043",
        cause="blocked",
        message="Bill 1043 did not sync",
        remedy="Fix Bill 1043 first.",
        retryable=False,
        blocked_by="invoice 1043",
    )

    assert (blocked.cause, blocked.blocked_by, blocked.retryable) == ("blocked", "invoice 1043", False)
    assert store.open_errors(qbo.id, "payment") == [blocked]


def test_a_resolved_error_leaves_the_list_and_a_new_failure_starts_afresh(
    store: Store, qbo: Connection, clock: FakeClock
) -> None:
    old = record_duplicate_name(store, qbo, message="first", run_id=None)
    clock.advance(60)
    store.resolve_error(qbo.id, "contact", "7")
    assert store.open_errors() == []
    assert store.open_error_ids(qbo.id, "contact") == set()
    clock.advance(60)

    new = record_duplicate_name(store, qbo, message="second", run_id=None)

    assert new.id != old.id
    assert (new.attempts, new.first_seen, new.message) == (1, clock.now, "second")
    assert store.open_errors() == [new]


def test_resolving_a_record_without_an_open_error_does_nothing(store: Store, qbo: Connection) -> None:
    store.resolve_error(qbo.id, "contact", "7")

    assert store.open_errors() == []


def test_open_errors_filter_by_connection_and_kind(store: Store, qbo: Connection, clock: FakeClock) -> None:
    clio = store.upsert_connection("clio", "1", "The Firm")

    def fail(connection: Connection, kind: str, source_id: str) -> SyncError:
        clock.advance(1)
        return store.record_error(
            connection.id, kind, source_id, label=source_id, cause="api_rejected", message="no", remedy="fix"
        )

    c7, i1, c8, x9 = (
        fail(qbo, "contact", "7"),
        fail(qbo, "invoice", "1"),
        fail(qbo, "contact", "8"),
        fail(clio, "contact", "9"),
    )

    assert store.open_errors() == [c7, i1, c8, x9]
    assert store.open_errors(qbo.id) == [c7, i1, c8]
    assert store.open_errors(kind="contact") == [c7, c8, x9]
    assert store.open_errors(qbo.id, "contact") == [c7, c8]
    assert store.open_error_ids(qbo.id, "contact") == {"7", "8"}


def test_the_database_itself_refuses_a_second_open_error_row(store: Store, qbo: Connection, url: str) -> None:
    record_duplicate_name(store, qbo, message="first", run_id=None)
    engine = create_store_engine(url)
    try:
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO sync_errors (connection_id, kind, source_id, label, cause, message, remedy,"
                    " retryable, attempts, first_seen, last_seen) VALUES (:c, 'contact', '7', 'x', 'x', 'x',"
                    " 'x', 1, 1, '2025-03-01 09:00:00.000000', '2025-03-01 09:00:00.000000')"
                ),
                {"c": qbo.id},
            )
    finally:
        engine.dispose()


def test_a_parked_error_stays_open_and_is_listed_apart(
    store: Store, qbo: Connection, clock: FakeClock
) -> None:
    failing = record_duplicate_name(store, qbo, message="first", run_id=None)
    other = store.record_error(
        qbo.id, "invoice", "1043", label="Bill 1043", cause="unmapped_category", message="no", remedy="map it"
    )
    clock.advance(60)

    parked = store.park_error(failing.id, "the vendor is being renamed by the accountant")

    assert parked == dataclasses.replace(
        failing, parked_at=clock.now, parked_reason="the vendor is being renamed by the accountant"
    )
    assert parked.parked and not other.parked
    assert store.error(failing.id) == parked
    assert store.open_errors() == [parked, other]
    assert store.open_errors(parked=True) == [parked]
    assert store.open_errors(qbo.id, parked=False) == [other]
    assert store.open_error_ids(qbo.id, "contact", parked=False) == set()
    assert store.open_error_ids(qbo.id, "contact") == {"7"}
    assert store.parked_keys(qbo.id) == {("contact", "7")}


def test_a_parked_record_failing_again_stays_parked_with_its_attempt_counted(
    store: Store, qbo: Connection, clock: FakeClock
) -> None:
    first = record_duplicate_name(store, qbo, message="first", run_id=None)
    store.park_error(first.id, "handled by hand")
    clock.advance(3600)

    again = record_duplicate_name(store, qbo, message="second", run_id=None)

    assert (again.id, again.attempts, again.last_seen, again.message) == (first.id, 2, clock.now, "second")
    assert (again.parked_at, again.parked_reason) == (T0, "handled by hand")


def test_resolving_a_parked_error_closes_it(store: Store, qbo: Connection, clock: FakeClock) -> None:
    first = record_duplicate_name(store, qbo, message="first", run_id=None)
    store.park_error(first.id, "handled by hand")
    clock.advance(60)

    store.resolve_error(qbo.id, "contact", "7")

    closed = store.error(first.id)
    assert closed is not None and closed.resolved_at == clock.now
    assert store.open_errors() == [] and store.parked_keys(qbo.id) == set()


def test_unparking_takes_the_reason_away(store: Store, qbo: Connection) -> None:
    first = record_duplicate_name(store, qbo, message="first", run_id=None)
    store.park_error(first.id, "handled by hand")

    assert store.unpark_error(first.id) == first
    assert store.open_errors(parked=False) == [first]


def test_a_retry_request_unparks_and_lasts_until_the_next_attempt(
    store: Store, qbo: Connection, clock: FakeClock
) -> None:
    first = record_duplicate_name(store, qbo, message="first", run_id=None)
    store.park_error(first.id, "handled by hand")
    clock.advance(60)

    asked = store.request_retry(first.id)

    assert (asked.parked_at, asked.parked_reason, asked.retry_requested_at) == (None, None, clock.now)
    assert store.retry_requested(qbo.id) == {("contact", "7")}
    attempted = record_duplicate_name(store, qbo, message="again", run_id=None)
    assert attempted.retry_requested_at is None and attempted.attempts == 2
    assert store.retry_requested(qbo.id) == set()


def test_parking_drops_a_pending_retry_request(store: Store, qbo: Connection) -> None:
    first = record_duplicate_name(store, qbo, message="first", run_id=None)
    store.request_retry(first.id)

    parked = store.park_error(first.id, "not now")

    assert parked.retry_requested_at is None and store.retry_requested(qbo.id) == set()


def test_an_unknown_or_resolved_error_cannot_be_parked_unparked_or_retried(
    store: Store, qbo: Connection
) -> None:
    first = record_duplicate_name(store, qbo, message="first", run_id=None)
    store.resolve_error(qbo.id, "contact", "7")

    assert store.error(999) is None
    for act in (lambda i: store.park_error(i, "x"), store.unpark_error, store.request_retry):
        with pytest.raises(StoreError, match="there is no error 999"):
            act(999)
        with pytest.raises(StoreError, match=rf"error {first.id} \(Dana Whitfield\) is resolved"):
            act(first.id)


def test_a_store_of_the_first_schema_upgrades_with_its_errors_unparked(url: str) -> None:
    config = alembic_config()
    engine = create_store_engine(url)
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0001")
            conn.exec_driver_sql(
                "INSERT INTO connections (id, provider, external_id, name, connected_at) "
                "VALUES (1, 'qbo', '913', 'Whitfield', '2025-03-01 09:00:00.000000')"
            )
            conn.exec_driver_sql(
                "INSERT INTO sync_errors (connection_id, kind, source_id, label, cause, message, remedy,"
                " retryable, attempts, first_seen, last_seen) VALUES (1, 'contact', '7', 'Dana', 'x', 'x',"
                " 'x', 1, 1, '2025-03-01 09:00:00.000000', '2025-03-01 09:00:00.000000')"
            )
    finally:
        engine.dispose()

    with Store.open(url) as upgraded:
        [old] = upgraded.open_errors()
        assert (old.label, old.parked, old.parked_reason, old.retry_requested_at) == (
            "Dana",
            False,
            None,
            None,
        )
        upgraded.park_error(old.id, "kept")
        assert upgraded.parked_keys(1) == {("contact", "7")}


def test_the_triage_migration_goes_down_again_keeping_one_open_error_per_record(
    store: Store, qbo: Connection, url: str
) -> None:
    record_duplicate_name(store, qbo, message="first", run_id=None)
    config = alembic_config()
    engine = create_store_engine(url)
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0001")
        columns = {c["name"] for c in sa.inspect(engine).get_columns("sync_errors")}
        assert not columns & {"parked_at", "parked_reason", "retry_requested_at"}
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO sync_errors (connection_id, kind, source_id, label, cause, message, remedy,"
                    " retryable, attempts, first_seen, last_seen) VALUES (:c, 'contact', '7', 'x', 'x', 'x',"
                    " 'x', 1, 1, '2025-03-01 09:00:00.000000', '2025-03-01 09:00:00.000000')"
                ),
                {"c": qbo.id},
            )
    finally:
        engine.dispose()


# ---------------------------------------------------------------------------------------------
# Runs


def test_a_run_round_trips_from_start_to_finish(store: Store, clock: FakeClock) -> None:
    run_id = store.start_run(dry_run=True)
    assert store.last_run() == Run(
        id=run_id,
        started_at=T0,
        finished_at=None,
        status="running",
        exit_code=None,
        dry_run=True,
        counts={},
        error=None,
    )
    clock.advance(90)
    counts = {"invoice": {"created": 3, "updated": 1, "failed": 1}, "contact": {"linked": 2}}

    store.finish_run(run_id, status="errors", exit_code=1, counts=counts, error="1 record failed")

    assert store.last_run() == Run(
        id=run_id,
        started_at=T0,
        finished_at=clock.now,
        status="errors",
        exit_code=1,
        dry_run=True,
        counts=counts,
        error="1 record failed",
    )


def test_runs_are_listed_newest_first(store: Store) -> None:
    ids = [store.start_run(dry_run=False) for _ in range(3)]

    assert [run.id for run in store.runs()] == ids[::-1]
    assert [run.id for run in store.runs(limit=2)] == ids[:0:-1]
    last = store.last_run()
    assert last is not None and last.id == ids[-1]


def test_there_is_no_last_run_in_a_new_store(store: Store) -> None:
    assert store.last_run() is None
    assert store.runs() == []


def test_a_run_finishes_once_and_not_as_running(store: Store) -> None:
    run_id = store.start_run(dry_run=False)
    with pytest.raises(ValueError, match="ok, errors, failed, interrupted"):
        store.finish_run(run_id, status="running", exit_code=None, counts={})
    store.finish_run(run_id, status="ok", exit_code=0, counts={})

    with pytest.raises(StoreError, match="already finished as ok"):
        store.finish_run(run_id, status="failed", exit_code=3, counts={})


# ---------------------------------------------------------------------------------------------
# The pass lock


def test_a_held_lock_names_its_holder_and_when_it_expires(store: Store) -> None:
    store.acquire_lock("sync", "cron@books:4242", ttl_seconds=300)

    with pytest.raises(LockHeldError) as caught:
        store.acquire_lock("sync", "bookkeeper@laptop:77", ttl_seconds=300)

    assert str(caught.value) == (
        "another pass is running (pid 4242 on cron@books, since 2025-03-01 09:00:00 UTC); "
        "this one did nothing"
    )
    assert "expires at 2025-03-01 09:05:00 UTC" in caught.value.remedy
    assert caught.value.exit_code == 3


def test_an_expired_lock_is_taken_over(store: Store, clock: FakeClock) -> None:
    store.acquire_lock("sync", "crashed:1", ttl_seconds=300)
    clock.advance(300)

    store.acquire_lock("sync", "next:2", ttl_seconds=300)

    with pytest.raises(LockHeldError, match=r"\(pid 2 on next, since"):
        store.acquire_lock("sync", "crashed:1", ttl_seconds=300)


def test_renewing_keeps_the_lock_past_its_first_expiry(store: Store, clock: FakeClock) -> None:
    store.acquire_lock("sync", "pass:1", ttl_seconds=300)
    clock.advance(200)
    store.renew_lock("sync", "pass:1", ttl_seconds=300)
    clock.advance(200)

    with pytest.raises(LockHeldError) as caught:
        store.acquire_lock("sync", "pass:2", ttl_seconds=300)
    assert "expires at 2025-03-01 09:08:20 UTC" in caught.value.remedy


def test_a_pass_that_lost_its_lock_cannot_renew_it(store: Store, clock: FakeClock) -> None:
    store.acquire_lock("sync", "slow:1", ttl_seconds=60)
    clock.advance(61)
    store.acquire_lock("sync", "next:2", ttl_seconds=60)

    with pytest.raises(LockHeldError, match="pid 2 on next"):
        store.renew_lock("sync", "slow:1", ttl_seconds=60)
    store.release_lock("sync", "next:2")
    with pytest.raises(LockHeldError, match="nobody holds it"):
        store.renew_lock("sync", "slow:1", ttl_seconds=60)


def test_release_lets_the_next_pass_in_but_only_the_holder_can_release(store: Store) -> None:
    store.acquire_lock("sync", "pass:1", ttl_seconds=300)
    store.release_lock("sync", "intruder:9")
    with pytest.raises(LockHeldError):
        store.acquire_lock("sync", "pass:2", ttl_seconds=300)

    store.release_lock("sync", "pass:1")

    store.acquire_lock("sync", "pass:2", ttl_seconds=300)


def test_the_lock_holds_between_two_processes_sharing_one_file(url: str, clock: FakeClock) -> None:
    with Store.open(url, clock=clock) as cron, Store.open(url, clock=clock) as by_hand:
        cron.acquire_lock("sync", "cron:1", ttl_seconds=300)

        with pytest.raises(LockHeldError, match="pid 1 on cron"):
            by_hand.acquire_lock("sync", "by-hand:2", ttl_seconds=300)


def test_a_retired_company_connected_again_starts_with_no_links_and_keeps_the_old_ones_as_history(
    tmp_path: Path,
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'retired.sqlite'}")
    old = store.upsert_connection("qbo", "realm-1", "Books")
    store.save_link(old.id, "invoice", "100", "I-9", content_hash="h")
    store.retire_connection(old.id)
    new = store.upsert_connection("qbo", "realm-1", "Books")
    assert new.id != old.id and new.active
    assert store.links(new.id, "invoice") == {}
    assert set(store.links(old.id, "invoice")) == {"100"}  # history, kept for audit
    assert store.active_connection("qbo") == new
    store.close()
