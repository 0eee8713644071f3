"""Bad input: whatever Clio holds, a pass never crashes; each bill is synced exactly or explained (issue 9).

Hypothesis writes hostile Clio data through the emulator's own helpers (``add_contact``,
``add_matter``, ``add_bill``, ``add_line_item``): unicode, control characters, quotes and
backslashes; names, numbers, memos and descriptions just under, at and over every QBO limit;
zero, negative, huge and many-decimal quantities and prices; missing optional fields; bill
states, bill kinds, line kinds and contact types Clio may add later; issue dates on both sides of
the start date and the year's ends, daylight-saving change days and created-at times that a
clock change skips or repeats. Then one pass into QBO (``Workspace.sync_once``, in process):

- it returns (no traceback, no systemic stop: one record never stops a pass), exit 0 or 1;
- each bill of the example is either in QBO, once, with ``TotalAmt`` equal to Clio's total to
  the cent, or in ``sync_errors`` with a cause, a message and a remedy — or, when it is outside
  the sync's scope or has nothing to post, in neither place.

Speed: one sandbox and one connected firm per test function; every example adds its own records
to that firm and checks only those (earlier examples' failures are retried by each pass, which
also proves old bad records do not hold up new ones).
"""

from __future__ import annotations

import itertools
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ledgerlink.domain import money
from ledgerlink.sandbox import Sandbox, SandboxState
from ledgerlink.sandbox.clio_records import APPROVED, TRUST_KIND
from tests.conftest import fast_settings
from tests.scenarios.small_firm import SmallFirm, build_small_firm

START = date(2026, 1, 1)  # the [sync] start_date of the small firm's config
FIRM_TZ = ZoneInfo("America/New_York")
MARKER = re.compile(r"\[ledgerlink ([^\]]+)\]")
EXAMPLES = settings(
    max_examples=20,
    deadline=None,
    # No shrinking: the firm is shared, so a shrunk example would replay on top of every attempt
    # before it (slow and misleading); a failure is reported as generated.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    # The sandbox is shared on purpose (module fixture): examples add records, never reset it.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- strategies ----------------------------------------------------------------------------------

NASTY = (
    "'", '"', "\\", "\\\\", "\x00", "\t", "\n", "\r\n", "\x1b[31m", "\x7f", "\u200b", "\u202e", "\ufeff",
    "😀", "👩‍⚖️", "e\u0301", "&amp;", "<b>", "%s", "{0}", "${x}", "ǅ", "ß", "İ", "Ω", "\u3000", "--",
)  # fmt: skip
LIMITS = (16, 21, 30, 31, 99, 100, 101, 110, 111, 255, 256, 499, 500, 501, 1000, 1001, 4000, 4001)
FILLER = "Ωx'\\ "
AMOUNT_CLIENTS = itertools.count(1)  # a fresh client name for each example of the amounts property


def hostile_text(max_size: int = 24) -> st.SearchStrategy[str]:
    pieces = st.one_of(st.sampled_from(NASTY), st.characters(codec="utf-8", exclude_categories=["Cs"]))
    return st.lists(pieces, max_size=max_size).map("".join)


def at_a_limit() -> st.SearchStrategy[str]:
    """A hostile start, then filler up to one of QBO's length limits (just under, at or over it)."""
    return st.tuples(hostile_text(6), st.sampled_from(LIMITS)).map(
        lambda t: (t[0] + FILLER * (t[1] // len(FILLER) + 1))[: max(t[1], len(t[0]))]
    )


def text() -> st.SearchStrategy[str]:
    return st.one_of(hostile_text(), at_a_limit())


def name() -> st.SearchStrategy[str]:
    """Something Clio would keep as a name: not blank."""
    return text().filter(lambda s: s.strip() != "")


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def amount(places: int, low: int, high: int) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=low, max_value=high, places=places, allow_nan=False, allow_infinity=False)


# Quantities (hours or units) and prices: zero, negative, huge, many decimals, and rounding edges.
QUANTITIES = st.one_of(
    st.sampled_from([Decimal(q) for q in ("0", "1", "0.1", "0.005", "-1", "-0.25", "1000")]),
    st.integers(0, 6).flatmap(lambda p: amount(p, -100, 2_000)),
)
PRICES = st.one_of(
    st.sampled_from([Decimal(p) for p in ("0", "0.005", "0.015", "-250", "999999999.99", "0.0001")]),
    st.integers(0, 8).flatmap(lambda p: amount(p, -10_000, 1_000_000_000)),
)
# Clio's known values, then values it may add later (unknown enum values).
BILL_STATES = ("awaiting_payment", "awaiting_payment", "paid", "draft", "void", "queued_for_review")
BILL_KINDS = (None, "revenue_kind", "retainer_kind")  # trust requests are made otherwise (no lines)
LINE_KINDS = ("Service", "Expense", "Product", "Discount")
CONTACT_TYPES = ("Person", "Company", "Organisation")
# Year boundaries around the start date, US daylight-saving change days (2026-03-08, 2026-11-01).
DAYS = tuple(
    date.fromisoformat(d)
    for d in (
        "2025-12-31",
        "2026-01-01",
        "2026-03-08",
        "2026-03-09",
        "2026-11-01",
        "2026-12-31",
        "2027-01-01",
    )
)
# Firm-zone wall-clock times a clock change skips (02:30 on 8 March) or repeats (01:30 on 1 November).
MOMENTS = (
    datetime(2026, 3, 8, 2, 30, tzinfo=FIRM_TZ),
    datetime(2026, 11, 1, 1, 30, tzinfo=FIRM_TZ),
    datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=FIRM_TZ),
    datetime(2025, 12, 31, 23, 59, 59, tzinfo=FIRM_TZ),
    datetime(2026, 1, 1, 0, 0, tzinfo=UTC),
)


@dataclass(frozen=True)
class LineSpec:
    kind: str
    description: str | None
    quantity: Decimal
    price: Decimal
    taxable: bool
    day: date | None


@dataclass(frozen=True)
class BillSpec:
    number: str
    state: str
    kind: str | None
    issued_at: date
    due_in_days: int | None
    memo: str | None
    tax_rate: Decimal
    interest: Decimal
    created_at: datetime
    lines: tuple[LineSpec, ...]


@dataclass(frozen=True)
class ClientSpec:
    type: str
    name: str
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    street: str | None
    bills: tuple[BillSpec, ...]


LINES = st.builds(
    LineSpec,
    kind=st.sampled_from(LINE_KINDS),
    description=optional(text()),
    quantity=QUANTITIES,
    price=PRICES,
    taxable=st.booleans(),
    day=optional(st.sampled_from(DAYS)),
)
BILLS = st.builds(
    BillSpec,
    number=st.one_of(st.integers(1, 99_999).map(str), name()),
    state=st.sampled_from(BILL_STATES),
    kind=st.sampled_from(BILL_KINDS),
    issued_at=st.sampled_from(DAYS),
    due_in_days=optional(st.integers(-5, 60)),
    memo=optional(text()),
    tax_rate=st.one_of(st.just(Decimal(0)), amount(4, 0, 30)),
    interest=st.one_of(st.just(Decimal(0)), amount(2, 0, 500)),
    created_at=st.sampled_from(MOMENTS),
    lines=st.lists(LINES, max_size=4).map(tuple),
)
CLIENTS = st.builds(
    ClientSpec,
    type=st.sampled_from(CONTACT_TYPES),
    name=name(),
    first_name=optional(name()),
    last_name=optional(name()),
    email=optional(text()),
    phone=optional(text()),
    street=optional(text()),
    bills=st.lists(BILLS, min_size=1, max_size=3).map(tuple),
)


# -- seeding and checking --------------------------------------------------------------------------


def seed_client(firm: SmallFirm, spec: ClientSpec) -> list[int]:
    """The client, a matter and its bills in the Clio emulator; the bill ids."""
    clio = firm.sandbox.clio
    person = {"first_name": spec.first_name, "last_name": spec.last_name} if spec.type == "Person" else {}
    contact = clio.add_contact(
        type=spec.type,
        name=spec.name,
        is_client=True,
        **{k: v for k, v in person.items() if v is not None},
        email_addresses=[{"name": "Work", "address": spec.email, "primary": True}] if spec.email else [],
        phone_numbers=[{"name": "Work", "number": spec.phone, "primary": True}] if spec.phone else [],
        addresses=[{"name": "Billing", "street": spec.street, "primary": True}] if spec.street else [],
    )
    matter = clio.add_matter(
        client=contact["id"], number=1, display_number=f"00001-{spec.name[:40]}", open_date=date(2025, 6, 1)
    )
    bill_ids = []
    for bill_spec in spec.bills:
        extra = {"kind": bill_spec.kind} if bill_spec.kind is not None else {}
        if bill_spec.due_in_days is not None:
            extra["due_at"] = bill_spec.issued_at + timedelta(days=bill_spec.due_in_days)
        if bill_spec.memo is not None:
            extra["memo"] = bill_spec.memo
        bill = clio.add_bill(
            client=contact["id"],
            matters=[matter["id"]],
            number=bill_spec.number,
            state=bill_spec.state,
            issued_at=bill_spec.issued_at,
            created_at=bill_spec.created_at,
            tax_rate=bill_spec.tax_rate,
            interest={"total": bill_spec.interest},
            **extra,
        )
        for line in bill_spec.lines:
            clio.add_line_item(
                bill=bill["id"],
                kind=line.kind,
                description=line.description,
                quantity=line.quantity,
                price=line.price,
                taxable=line.taxable,
                **({"date": line.day} if line.day is not None else {}),
            )
        bill_ids.append(int(bill["id"]))
    return bill_ids


def in_scope(bill: dict[str, Any]) -> bool:
    day = bill["issued_at"]
    return bill["state"] in APPROVED and day >= START and bill.get("kind") != TRUST_KIND


def check_every_bill(firm: SmallFirm, bill_ids: list[int], *, must_post: bool = False) -> None:
    """Each bill: in QBO once with Clio's total to the cent, or an error with a cause, or out of scope.

    ``must_post``: the bills are in scope with a plain number, so any total of zero or more must be
    in QBO (only a negative total may be refused).
    """
    with firm.workspace() as workspace:
        store = workspace.store
        conn = workspace.connection("qbo")
        links = store.links(conn.id, "invoice")
        errors = {e.source_id: e for e in store.open_errors(kind="invoice")}
        invoices = {row["Id"]: row for row in firm.qbo("Invoice")}
        sources: list[str] = []
        for row in invoices.values():
            for key in MARKER.findall(str(row.get("PrivateNote") or "")):
                intent = store.intent(key)
                if intent is not None and intent.kind == "invoice":
                    sources.append(intent.source_id)
    for bill_id in bill_ids:
        bill = firm.clio_bill(bill_id)
        source = str(bill_id)
        link, error = links.get(source), errors.get(source)
        if must_post and money(bill["total"]) >= 0 and not _nothing_to_post(firm, bill_id):
            assert link is not None, f"bill {bill_id} ({bill['total']}) was refused: {error}"
        assert sources.count(source) <= 1, f"bill {bill_id} is {sources.count(source)} invoices"
        if link is not None:
            invoice = invoices[link.target_id]
            assert in_scope(bill), f"out-of-scope bill {bill_id} ({bill['state']}) was posted"
            assert Decimal(str(invoice["TotalAmt"])) == money(bill["total"]), bill_id
            assert error is None
        elif error is not None:
            assert error.cause and error.message and error.remedy, error
        else:
            assert not in_scope(bill) or _nothing_to_post(firm, bill_id), (
                f"bill {bill_id} is in scope but neither in QBO nor in the errors"
            )


def _nothing_to_post(firm: SmallFirm, bill_id: int) -> bool:
    """No lines and a total of zero: the one in-scope bill a pass skips (it says so in its plan)."""
    lines = [li for li in firm.sandbox.clio.records("line_item") if li["bill"] == bill_id]
    return not lines and money(firm.clio_bill(bill_id)["total"]) == 0


def one_pass(firm: SmallFirm) -> None:
    with firm.workspace() as workspace:
        result = workspace.sync_once()  # any exception here is the failure: a crash or a systemic stop
    assert result.exit_code in (0, 1)
    for _action, error in result.problems:
        assert error.cause and error.message, error


@pytest.fixture(scope="module")
def hostile_firm() -> Iterator[SmallFirm]:
    with (
        tempfile.TemporaryDirectory() as workdir,
        Sandbox(SandboxState(settings=fast_settings()), seed="empty") as box,
    ):
        yield build_small_firm(box, Path(workdir))


# -- the properties ----------------------------------------------------------------------------------


@EXAMPLES
@given(client=CLIENTS)
def test_hostile_clients_and_bills_are_synced_to_the_cent_or_explained(
    hostile_firm: SmallFirm, client: ClientSpec
) -> None:
    bill_ids = seed_client(hostile_firm, client)
    one_pass(hostile_firm)
    check_every_bill(hostile_firm, bill_ids)


@EXAMPLES
@given(lines=st.lists(LINES, min_size=1, max_size=6), tax_rate=amount(6, 0, 100))
def test_amounts_of_every_shape_post_to_the_cent_unless_the_total_is_negative(
    hostile_firm: SmallFirm, lines: list[LineSpec], tax_rate: Decimal
) -> None:
    number = next(AMOUNT_CLIENTS)
    bill = BillSpec(
        f"A-{number}", "awaiting_payment", None, date(2026, 6, 1), 30, None, tax_rate, Decimal(0),
        MOMENTS[0], tuple(lines),
    )  # fmt: skip
    client = ClientSpec("Company", f"Amounts Co {number}", None, None, None, None, None, (bill,))
    bill_ids = seed_client(hostile_firm, client)
    one_pass(hostile_firm)
    check_every_bill(hostile_firm, bill_ids, must_post=True)
