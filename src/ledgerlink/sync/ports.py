"""What the sync engine needs from the outside world, declared here so providers can plug in.

``Source`` reads the practice-management side (Clio); ``Ledger`` reads and writes the books
(QBO now, Xero later). The engine and the flows know providers only through these protocols.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from ledgerlink.domain import Contact, Invoice, InvoiceLine
from ledgerlink.errors import ApiError, RecordError


@dataclass(frozen=True)
class LedgerCustomer:
    id: str
    display_name: str  # as the ledger shows it, e.g. "Dana Whitfield (deleted)" for inactive QBO customers
    email: str | None
    active: bool
    version: str | None = None


@dataclass(frozen=True)
class LedgerInvoice:
    id: str
    number: str
    customer_id: str
    total: Decimal
    version: str | None
    note: str  # private memo: carries ledgerlink's marker on records it created


@dataclass(frozen=True)
class Written:
    """What the ledger answered to a write: the record's id and its new version token."""

    id: str
    version: str | None


@dataclass(frozen=True)
class MappedLine:
    line: InvoiceLine
    item: str  # Product/Service name in the ledger


@dataclass(frozen=True)
class InvoiceDraft:
    """A Clio bill with every line mapped and its customer resolved: ready to write."""

    invoice: Invoice
    customer_id: str
    lines: tuple[MappedLine, ...]


class Source(Protocol):
    """The practice-management system, read side."""

    def changed_contacts(self, since: datetime | None) -> list[Contact]: ...

    def contacts(self, ids: Collection[str]) -> list[Contact]: ...

    def changed_invoices(self, since: datetime | None, *, issued_after: date | None) -> list[Invoice]: ...

    def invoices(self, ids: Collection[str]) -> list[Invoice]: ...


class Ledger(Protocol):
    """The accounting system: reads for matching, writes carrying an idempotency key."""

    provider: str  # "qbo"
    title: str  # "QuickBooks Online"
    max_doc_number: int  # longest invoice number the ledger accepts

    def display_name(self, contact: Contact) -> str:
        """The name the ledger will show for this contact (after the ledger's own rules)."""
        ...

    def customers(self) -> list[LedgerCustomer]:
        """Every customer, active and inactive."""
        ...

    def name_holders(self) -> dict[str, str]:
        """Names held by non-customer records (vendors, employees), folded → 'vendor'/'employee'."""
        ...

    def missing_items(self, names: Collection[str]) -> set[str]:
        """Which of these Product/Service names do not exist (or are inactive) in the ledger."""
        ...

    def invoices_by_number(self, numbers: Iterable[str]) -> dict[str, LedgerInvoice]: ...

    def find_customer(self, display_name: str) -> LedgerCustomer | None: ...

    def create_customer(self, contact: Contact, *, key: str) -> Written: ...

    def update_customer(
        self, target_id: str, version: str | None, contact: Contact, *, key: str
    ) -> Written: ...

    def reactivate_customer(self, target_id: str, *, key: str) -> Written: ...

    def create_invoice(self, draft: InvoiceDraft, *, key: str) -> Written: ...

    def update_invoice(
        self, target_id: str, version: str | None, draft: InvoiceDraft, *, key: str
    ) -> Written: ...

    def explain(self, error: ApiError, *, label: str) -> RecordError:
        """Turn a refusal of the ledger's API into a cause and a remedy for the bookkeeper."""
        ...


def fold(name: str) -> str:
    """The key under which two names are 'the same' for matching: case- and space-insensitive."""
    return " ".join(name.casefold().split())


class LinkView(Protocol):
    """The part of a stored link a flow reads (the store's Link satisfies it)."""

    @property
    def target_id(self) -> str: ...

    @property
    def content_hash(self) -> str: ...

    @property
    def version_token(self) -> str | None: ...
