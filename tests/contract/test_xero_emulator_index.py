"""The Xero emulator reads through records its writers filed, and answers as a scan of its tables would.

What a scan gives is written out here (the emulator's reads before the filing): what a document
was paid and credited and by whom, which contacts are customers or suppliers, which numbers are
taken, and a list answer rendered whole before its ``where``, ``order`` and page are applied.
After any history of writes, deletions, archiving and a rolled-back batch, each answer the
emulator gives must be the scan's.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerlink.sandbox import SandboxState
from ledgerlink.sandbox import xero_documents as docs
from ledgerlink.sandbox.qbo_schema import to_json
from ledgerlink.sandbox.xero import XeroEmulator
from ledgerlink.sandbox.xero_query import parse_where, sort_records
from ledgerlink.sandbox.xero_records import Books, Refusal, render_contact, write_contact
from tests.conftest import fast_settings

ORG = "5b8c1a52-0d6e-4f43-9c7d-2a1e3f4b5c6d"
Record = dict[str, Any]

# -- what a scan of the tables answers -------------------------------------------------------------


def scan_payments(books: Books, record: Record, id_field: str) -> list[Record]:
    return [
        p for p in books.payments.values() if p.get(id_field) == record[id_field] and p["Status"] != "DELETED"
    ]


def scan_allocations(books: Books, record: Record, id_field: str) -> list[Record]:
    return [
        a for a in books.allocations.values() if a.get(id_field) == record[id_field] and not a["IsDeleted"]
    ]


def scan_kinds(books: Books, contact_id: str) -> set[str]:
    return {
        d["Type"]
        for table in (books.invoices, books.credit_notes)
        for d in table.values()
        if d["ContactID"] == contact_id and d["Status"] != "DELETED"
    }


def scan_taken(books: Books) -> set[str]:
    return {str(r.get("InvoiceNumber")) for r in books.invoices.values()} | {
        str(r.get("CreditNoteNumber")) for r in books.credit_notes.values()
    }


def scan_render(books: Books, name: str, record: Record) -> Record:
    if name == "Invoices":
        return docs.render_document(books, record, kind="Invoice", unitdp=2, with_lines=True)
    if name == "CreditNotes":
        return docs.render_document(books, record, kind="CreditNote", unitdp=2, with_lines=True)
    if name == "Payments":
        return docs.render_payment(books, record)
    return render_contact(books, record)


def scan_view(record: Record, rendered: Record) -> Record:
    view = dict(rendered)
    for key in ("Date", "DueDate", "FullyPaidOnDate"):
        if record.get(key) is not None:
            view[key] = record[key]
    view["UpdatedDateUTC"] = datetime.fromtimestamp(record["UpdatedDateUTC"], UTC).replace(tzinfo=None)
    return view


def scan_list(books: Books, name: str, params: dict[str, str]) -> Record:
    """Every record rendered, then ``where``, ``order`` and the page applied (the emulator's list before)."""
    table = {"Invoices": books.invoices, "CreditNotes": books.credit_notes, "Payments": books.payments}
    rows = list(table.get(name, books.contacts).values())
    if name == "Contacts":
        rows = [r for r in rows if r["ContactStatus"] != "ARCHIVED"]
    views = [(scan_view(r, out), out) for r in rows for out in [scan_render(books, name, r)]]
    if "where" in params:
        test = parse_where(params["where"])
        views = [(v, out) for v, out in views if test(v)]
    if "order" in params:
        outs = {id(v): out for v, out in views}
        views = [(v, outs[id(v)]) for v in sort_records([v for v, _ in views], params["order"])]
    result = [out for _, out in views]
    answer: Record = {}
    if "page" in params:
        page, size = int(params["page"]), int(params.get("pageSize", "100"))
        answer["pagination"] = {
            "page": page,
            "pageSize": size,
            "pageCount": max(1, math.ceil(len(result) / size)),
            "itemCount": len(result),
        }
        result = result[(page - 1) * size : page * size]
    elif name in ("Invoices", "CreditNotes"):
        for out in result:
            out.pop("LineItems", None)
    answer[name] = result
    return answer


LISTS: list[tuple[str, dict[str, str]]] = [
    ("Invoices", {"where": 'Type=="ACCREC" AND Date>=DateTime(2026, 04, 02)', "page": "1", "pageSize": "3"}),
    ("Invoices", {"where": 'Status=="AUTHORISED"', "order": "Date DESC"}),
    ("Invoices", {"where": "AmountDue > 0", "page": "2", "pageSize": "2"}),
    ("Invoices", {"order": "InvoiceNumber", "page": "1"}),
    ("CreditNotes", {"where": 'Type=="ACCRECCREDIT"'}),
    ("Payments", {"where": "Date==DateTime(2026, 04, 10) OR Amount > 20", "page": "1"}),
    ("Payments", {"where": 'Invoice.Status=="PAID"'}),
    ("Contacts", {"page": "1", "order": "Name"}),
]


def answered(emu: XeroEmulator, name: str, params: dict[str, str]) -> Record:
    """The emulator's answer to ``GET /{name}`` (its ASGI app, in process), envelope left out."""
    headers = {"Authorization": f"Bearer {emu.access_token([ORG])}", "xero-tenant-id": ORG}

    async def ask() -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=emu.app), base_url="http://xero"
        ) as client:
            return await client.get(f"/{name}", params=params, headers=headers)

    response = asyncio.run(ask())
    assert response.status_code == 200, response.text
    return {k: v for k, v in response.json().items() if k in (name, "pagination")}


def check_every_answer(emu: XeroEmulator, books: Books) -> None:
    for table, kind in ((books.invoices, "Invoice"), (books.credit_notes, "CreditNote")):
        id_field = f"{kind}ID"
        for record in table.values():
            paid, credited = docs.paid_on(books, record, id_field)
            assert paid == sum((p["Amount"] for p in scan_payments(books, record, id_field)), Decimal("0.00"))
            assert credited == sum(
                (a["Amount"] for a in scan_allocations(books, record, id_field)), Decimal("0.00")
            )
            assert docs.payments_of(books, record, id_field) == scan_payments(books, record, id_field)
            assert docs.allocations_of(books, record, id_field) == scan_allocations(books, record, id_field)
    for contact in books.contacts.values():
        rendered = render_contact(books, contact)
        kinds = scan_kinds(books, contact["ContactID"])
        assert rendered["IsCustomer"] == bool(kinds & {"ACCREC", "ACCRECCREDIT"})
        assert rendered["IsSupplier"] == bool(kinds & {"ACCPAY", "ACCPAYCREDIT", "SPEND"})
    taken = scan_taken(books)
    for number in [f"{prefix}-{n:04d}" for prefix in ("INV", "CN") for n in range(1, 25)]:
        filed = books.invoice_numbers.live(
            number, books.invoices, "InvoiceID"
        ) or books.credit_note_numbers.live(number, books.credit_notes, "CreditNoteID")
        assert bool(filed) == (number in taken), number
    for name, params in LISTS:
        assert answered(emu, name, params) == to_plain(scan_list(books, name, params)), (name, params)


def to_plain(answer: Record) -> Any:
    """An answer as it reads once sent (the emulator's JSON), for comparing with one received."""
    import json

    return json.loads(to_json(answer))


# -- any history -------------------------------------------------------------------------------------


def _apply(emu: XeroEmulator, books: Books, operation: tuple[str, int]) -> None:
    kind, n = operation
    contacts = list(books.contacts.values())
    contact = contacts[n % len(contacts)]["ContactID"] if contacts else ""
    invoices, notes, payments = (
        list(books.invoices.values()),
        list(books.credit_notes.values()),
        list(books.payments.values()),
    )
    line = {"Description": "Work", "Quantity": 1, "UnitAmount": 10 + n, "AccountCode": "200"}
    document = {"Contact": {"ContactID": contact}, "Date": f"2026-04-{1 + n % 20:02d}", "LineItems": [line]}
    actions: dict[str, Callable[[], object]] = {
        "contact": lambda: emu.add_contact(ORG, Name=f"Client {n % 40}", ContactNumber=f"C{n % 30}"),
        "invoice": lambda: emu.add_invoice(
            ORG,
            {
                **document,
                "Type": "ACCREC" if n % 3 else "ACCPAY",
                "Status": "AUTHORISED" if n % 4 else "DRAFT",
            }
            | ({"InvoiceNumber": f"INV-{n % 9:04d}"} if n % 5 == 0 else {}),
        ),
        "note": lambda: emu.add_credit_note(
            ORG, {**document, "Type": "ACCRECCREDIT", "Status": "AUTHORISED"}
        ),
        "pay": lambda: emu.add_payment(
            ORG,
            {
                "Invoice": {"InvoiceID": invoices[n % len(invoices)]["InvoiceID"]},
                "Account": {"Code": "090"},
                "Date": "2026-04-10",
                "Amount": 1 + n % 15,
            },
        ),
        "allocate": lambda: docs.write_allocation(
            books,
            notes[n % len(notes)]["CreditNoteID"],
            {
                "Invoice": {"InvoiceID": invoices[n % len(invoices)]["InvoiceID"]},
                "Amount": 1 + n % 5,
                "Date": "2026-04-11",
            },
        ),
        "unpay": lambda: docs.delete_payment(
            books, payments[n % len(payments)]["PaymentID"], {"Status": "DELETED"}
        ),
        "unallocate": lambda: docs.delete_allocation(
            books, *next((a["CreditNoteID"], a["AllocationID"]) for a in books.allocations.values())
        ),
        "edit": lambda: docs.write_document(
            books,
            {
                "Contact": {"ContactID": contact},
                "InvoiceNumber": f"INV-{n % 9:04d}",
                "Status": ("AUTHORISED", "VOIDED", "DELETED")[n % 3],
            },
            kind="Invoice",
            create_only=False,
            path_id=invoices[n % len(invoices)]["InvoiceID"],
            unitdp=2,
        ),
        "rename": lambda: write_contact(
            books, {"Name": f"Client {n % 40}"}, create_only=False, path_id=contact
        ),
        "archive": lambda: emu.archive_contact(ORG, contact) if n % 4 == 0 else None,
        "advance": lambda: emu.state.clock.advance(n),
    }
    action = actions.get(kind)
    if action is not None:
        with contextlib.suppress(Refusal, ZeroDivisionError, StopIteration):  # refused, or nothing to act on
            action()


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            ["contact", "invoice", "invoice", "note", "pay", "pay", "pay", "allocate", "allocate", "unpay",
             "unallocate", "edit", "edit", "rename", "archive", "advance", "rollback"]
        ),
        st.integers(0, 60),
    ),
    min_size=10,
    max_size=40,
)  # fmt: skip


@settings(max_examples=50, deadline=None)
@given(operations=OPERATIONS)
def test_every_answer_after_any_history_is_the_answer_of_a_scan(operations: list[tuple[str, int]]) -> None:
    emu = XeroEmulator(SandboxState(settings=fast_settings()))
    emu.state.xero_orgs.add("Hartwell & Osei (Xero)", tenant_id=ORG)
    books = emu.books(ORG)
    for n in range(4):
        _apply(emu, books, ("contact", 31 + n))
        _apply(emu, books, ("invoice", 1 + n))
    _apply(emu, books, ("note", 2))
    saved = books.snapshot()
    for operation in operations:
        if operation[0] == "rollback":  # a refused summarised batch puts everything back
            books.restore(saved)
            saved = books.snapshot()
        else:
            _apply(emu, books, operation)
    check_every_answer(emu, books)
