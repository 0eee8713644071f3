"""What the sync engine needs from the outside world, declared here so providers can plug in.

``Source`` reads the practice-management side (Clio); ``Ledger`` reads and writes the books
(QBO now, Xero later). The engine and the flows know providers only through these protocols.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from ledgerlink.domain import (
    Address,
    Contact,
    ContactEdit,
    CreditNote,
    Invoice,
    InvoiceLine,
    Payment,
    TaxSettings,
    TrustAccount,
    TrustTransaction,
)
from ledgerlink.errors import ApiError, RecordError


@dataclass(frozen=True)
class LedgerCustomer:
    id: str
    display_name: str  # as the ledger shows it, e.g. "Dana Whitfield (deleted)" for inactive QBO customers
    email: str | None
    active: bool
    version: str | None = None
    phone: str | None = None
    address: Address | None = None
    given_name: str | None = None
    family_name: str | None = None


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
    """What the ledger answered to a write: the record's id and its new version token.

    ``customer`` is the customer as the ledger stored it (after its own normalising), for
    contact writes: the base of the next two-way comparison. ``tax`` is the tax the ledger
    computed on an invoice, when it computes tax (non-US QBO companies).
    """

    id: str
    version: str | None
    customer: LedgerCustomer | None = None
    tax: Decimal | None = None


@dataclass(frozen=True)
class MappedLine:
    line: InvoiceLine
    item: str  # Product/Service name in the ledger
    tax_code: str | None = None  # ledger tax code id, when the ledger computes tax (non-US)


@dataclass(frozen=True)
class InvoiceDraft:
    """A Clio bill with every line mapped and its customer resolved: ready to write."""

    invoice: Invoice
    customer_id: str
    lines: tuple[MappedLine, ...]
    expected_tax: Decimal | None = None  # when the ledger computes tax: what Clio charged


@dataclass(frozen=True)
class Settlement:
    """An amount of a payment or credit note applied to one ledger document."""

    target_id: str  # ledger invoice (or credit memo) id
    amount: Decimal


@dataclass(frozen=True)
class PaymentDraft:
    """A Clio payment ready to write: customer resolved, each bill's invoice resolved."""

    payment: Payment
    customer_id: str
    lines: tuple[Settlement, ...]  # one per invoice paid
    deposit_account: str | None = None  # ledger account name; None = the ledger's default (Undeposited Funds)


@dataclass(frozen=True)
class CreditNoteDraft:
    """A Clio credit memo as a ledger credit note (QBO CreditMemo), one line on ``item``."""

    credit: CreditNote
    customer_id: str
    item: str  # Product/Service name the credit is posted to


@dataclass(frozen=True)
class CreditApplicationDraft:
    """Applying a synced credit note to the invoices it was applied to in Clio.

    QBO does this with a zero-total Payment linking the credit memo and the invoices.
    """

    credit: CreditNote
    customer_id: str
    credit_target_id: str  # the ledger credit note's id
    lines: tuple[Settlement, ...]  # one per invoice credited


@dataclass(frozen=True)
class TrustPostingDraft:
    """A Clio trust transaction as a ledger journal entry between the trust bank and liability accounts.

    Money in: debit ``bank_account``, credit ``liability_account``; money out: the reverse. The
    liability line carries the client (``customer_id``) so the ledger can report per client;
    ``memo`` names the Clio transaction id, client and matter (searchable in the ledger).
    """

    transaction: TrustTransaction
    bank_account: str  # ledger account names
    liability_account: str
    customer_id: str | None
    memo: str


@dataclass(frozen=True)
class TrustChequeDraft:
    """A trust disbursement as a cheque to print (QBO Check, PrintStatus NeedToPrint).

    Paid from ``bank_account`` to ``payee_id`` (a customer or a vendor); its one line debits
    ``liability_account`` for the client (``customer_id``).
    """

    transaction: TrustTransaction
    bank_account: str
    liability_account: str
    customer_id: str | None
    payee_id: str
    payee_type: str  # "Customer" | "Vendor"
    memo: str


@dataclass(frozen=True)
class LedgerAccount:
    """An account of the chart of accounts, as trust checks need to see it."""

    id: str
    name: str
    type: str  # QBO AccountType, e.g. "Bank", "Other Current Liability"
    detail_type: str | None  # QBO AccountSubType, e.g. "TrustAccounts"
    active: bool = True


@dataclass(frozen=True)
class TrustBooks:
    """What the ledger's books say about one trust account pair on a date.

    ``bank_balance``: the trust bank account's balance (debits − credits); ``liability_balance``:
    the trust liability account's balance (credits − debits); ``by_customer``: the liability
    balance per ledger customer id ("" for lines without a customer).
    """

    bank_balance: Decimal
    liability_balance: Decimal
    by_customer: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class LedgerWrite:
    """One write to the ledger, as the engine hands it over (possibly many in one batch).

    ``op`` is one of create / update / link / void / delete (see :class:`ledgerlink.sync.plan.Op`);
    ``kind`` is the link kind (contact, invoice, payment, credit_note, credit_application,
    trust_posting, trust_cheque);
    ``payload`` the flow's draft (Contact, InvoiceDraft, PaymentDraft, ...); ``key`` the intent
    key, sent as the idempotency key and marked on the record where the ledger allows.
    """

    op: str
    kind: str
    key: str
    payload: Any = None
    target_id: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class TaxCode:
    """A ledger sales tax code and the total percentage of the rates it charges."""

    id: str
    name: str
    rate: Decimal
    active: bool = True


@dataclass(frozen=True)
class LedgerSettings:
    """What a pass must know about the company's settings before writing."""

    custom_numbers: bool  # the ledger keeps the document numbers we send
    computes_tax: bool  # non-US QBO: tax codes on lines, the ledger computes the tax
    tax_codes: tuple[TaxCode, ...] = ()
    country: str = "US"


@dataclass(frozen=True)
class LedgerChanges:
    """What changed in the ledger since a moment, for records ledgerlink links.

    ``versions``: link kind → ledger id → current version token, or ``None`` when deleted.
    """

    customers: tuple[LedgerCustomer, ...] = ()
    versions: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)


class InvoiceStream(Protocol):
    """A pass's bills: known up front as ``headers`` (invoices without their charge lines, enough to
    know their clients, states and totals), then whole, window by window, as their lines are read."""

    @property
    def headers(self) -> Sequence[Invoice]: ...

    def windows(self) -> Iterator[list[Invoice]]: ...


class Source(Protocol):
    """The practice-management system, read side."""

    def changed_contacts(self, since: datetime | None) -> list[Contact]: ...

    def contacts(self, ids: Collection[str]) -> list[Contact]: ...

    def clients(self) -> list[Contact]:
        """Every contact marked as a client (a client push: `ledgerlink sync --only contacts`)."""
        ...

    def changed_invoices(self, since: datetime | None, *, issued_after: date | None) -> list[Invoice]: ...

    def invoice_stream(
        self, since: datetime | None, *, issued_after: date | None, ids: Collection[str] = ()
    ) -> InvoiceStream:
        """Bills changed after ``since`` (issued after ``issued_after``) and the bills ``ids``, in windows."""
        ...

    def invoices(self, ids: Collection[str]) -> list[Invoice]: ...

    def changed_payments(self, since: datetime | None) -> list[Payment]:
        """Payments (with all their allocations) any allocation of which changed after ``since``."""
        ...

    def payments(self, ids: Collection[str]) -> list[Payment]: ...

    def changed_credit_notes(self, since: datetime | None) -> list[CreditNote]: ...

    def credit_notes(self, ids: Collection[str]) -> list[CreditNote]: ...

    def tax_settings(self) -> TaxSettings: ...

    def trust_accounts(self) -> list[TrustAccount]:
        """The firm's trust bank accounts (open ones)."""
        ...

    def trust_transactions(self, account_id: str) -> list[TrustTransaction]:
        """Every transaction of one trust account, oldest first (a trust ledger is read whole)."""
        ...

    def update_contact(self, contact_id: str, edit: ContactEdit) -> Contact:
        """Write ledger-side edits back to a contact; the contact as it now is."""
        ...


class Ledger(Protocol):
    """The accounting system: reads for matching, writes carrying an idempotency key."""

    provider: str  # "qbo" | "xero"
    title: str  # "QuickBooks Online" | "Xero"
    max_doc_number: int  # longest invoice number the ledger accepts
    mapping_noun: str  # what a [mapping] value names there: "Product/Service" | "account code"
    batch_size: int  # most writes one write() call carries: what one request of the ledger takes

    @property
    def name_clash_help(self) -> str:
        """The ledger's own way out of two customers with one name ("" if it has none)."""
        ...

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

    def settings(self) -> LedgerSettings: ...

    def missing_accounts(self, names: Collection[str]) -> set[str]:
        """Which of these account names do not exist (or are inactive) in the ledger."""
        ...

    def accounts(self, names: Collection[str]) -> dict[str, LedgerAccount]:
        """The accounts with these names (active or not), by the name asked for; absent when none."""
        ...

    def vendors(self) -> dict[str, str]:
        """Active vendors: folded display name → ledger id (cheque payees chosen by name)."""
        ...

    def trust_books(self, bank_account: str, liability_account: str, as_of: date) -> TrustBooks:
        """Balances of a trust bank/liability pair from the ledger's transactions dated up to ``as_of``."""
        ...

    def find_marked(self, kind: str, wanted: Mapping[str, date]) -> dict[str, Written]:
        """Records of a link kind that an unfinished write may have created: intent key → record.

        ``wanted`` maps each intent key to the date of the record it was creating; a record counts
        when it is dated that day and carries the key's marker. Used for kinds without a unique
        number to look up by (trust postings and cheques).
        """
        ...

    def changes(self, since: datetime, kinds: Collection[str]) -> LedgerChanges | None:
        """Records changed in the ledger after ``since`` (one change-data-capture read).

        ``None`` when ``since`` is further back than the ledger can answer (QBO: 30 days).
        """
        ...

    def write(self, writes: Sequence[LedgerWrite]) -> list[Written | ApiError]:
        """Carry out writes (batched where the ledger allows); one answer per write, in order.

        A refused write is its ApiError in the list and never hides its neighbours' success. A
        transport failure or a rate-limit refusal of the whole call raises.
        """
        ...

    def explain(self, error: ApiError, *, label: str) -> RecordError:
        """Turn a refusal of the ledger's API into a cause and a remedy for the bookkeeper."""
        ...


def fold(name: str) -> str:
    """The key under which two names are 'the same' for matching: case- and space-insensitive."""
    return " ".join(name.casefold().split())


# -- compound targets --------------------------------------------------------------------------
# A Clio record some ledgers keep as several records (Xero: one payment per invoice paid, one
# allocation per invoice credited) is linked to all of them: the link's target id is their ids
# joined with COMPOUND_SEPARATOR, and its version token their version tokens joined alike.

COMPOUND_SEPARATOR = ","


def compound_target(parts: Sequence[str]) -> str:
    """One target id (or version token) standing for several ledger records, in order."""
    for part in parts:
        if COMPOUND_SEPARATOR in part:
            raise ValueError(f"a ledger id cannot hold {COMPOUND_SEPARATOR!r}: {part!r}")
    return COMPOUND_SEPARATOR.join(parts)


def target_parts(target_id: str) -> list[str]:
    """The ledger ids a (possibly compound) target id stands for."""
    return [part for part in target_id.split(COMPOUND_SEPARATOR) if part]


class LinkView(Protocol):
    """The part of a stored link a flow reads (the store's Link satisfies it)."""

    @property
    def target_id(self) -> str: ...

    @property
    def content_hash(self) -> str: ...

    @property
    def version_token(self) -> str | None: ...

    @property
    def snapshot(self) -> Mapping[str, Any] | None: ...
