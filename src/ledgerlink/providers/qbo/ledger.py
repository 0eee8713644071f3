"""QuickBooks Online as a :class:`ledgerlink.sync.ports.Ledger`.

Reads for matching (customers incl. inactive, vendor/employee names, items, invoices by number),
writes with the intent key as QBO ``requestid``, and turns QBO faults into causes and remedies a
bookkeeper can act on.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from decimal import Decimal
from typing import Any

from ledgerlink.domain import Contact, money
from ledgerlink.errors import ApiError, ConflictError, RecordError
from ledgerlink.providers.qbo import translate
from ledgerlink.providers.qbo.client import QboClient
from ledgerlink.sync.ports import InvoiceDraft, LedgerCustomer, LedgerInvoice, Written, fold

DELETED_SUFFIX = " (deleted)"
IN_CHUNK = 30  # values per `IN (...)` query: keeps statements short


def _written(record: dict[str, Any]) -> Written:
    return Written(id=str(record["Id"]), version=str(record.get("SyncToken", "")) or None)


def _base_name(name: str) -> str:
    return name[: -len(DELETED_SUFFIX)] if name.endswith(DELETED_SUFFIX) else name


class QboLedger:
    provider = "qbo"
    title = "QuickBooks Online"
    max_doc_number = translate.MAX_DOC_NUMBER

    def __init__(self, client: QboClient) -> None:
        self._client = client
        self._items: dict[str, tuple[str, bool]] | None = None

    # -- reads ---------------------------------------------------------------------------------

    def display_name(self, contact: Contact) -> str:
        return translate.display_name(contact)

    def customers(self) -> list[LedgerCustomer]:
        rows = self._client.query_all("Customer", "Active IN (true, false)")
        return [
            LedgerCustomer(
                id=str(row["Id"]),
                display_name=str(row.get("DisplayName", "")),
                email=(row.get("PrimaryEmailAddr") or {}).get("Address"),
                active=bool(row.get("Active", True)),
                version=str(row.get("SyncToken", "")) or None,
            )
            for row in rows
        ]

    def name_holders(self) -> dict[str, str]:
        holders: dict[str, str] = {}
        for entity, noun in (("Vendor", "vendor"), ("Employee", "employee")):
            for row in self._client.query_all(entity, "Active IN (true, false)"):
                holders.setdefault(fold(_base_name(str(row.get("DisplayName", "")))), noun)
        return holders

    def _item_index(self) -> dict[str, tuple[str, bool]]:
        if self._items is None:
            index: dict[str, tuple[str, bool]] = {}
            for row in self._client.query_all("Item", "Active IN (true, false)"):
                entry = (str(row["Id"]), bool(row.get("Active", True)))
                for name in (row.get("FullyQualifiedName"), row.get("Name")):
                    if name:
                        current = index.get(_base_name(str(name)))
                        if current is None or (entry[1] and not current[1]):
                            index[_base_name(str(name))] = entry
            self._items = index
        return self._items

    def missing_items(self, names: Collection[str]) -> set[str]:
        index = self._item_index()
        return {name for name in names if name not in index or not index[name][1]}

    def _item_ids(self) -> dict[str, str]:
        return {name: item_id for name, (item_id, _active) in self._item_index().items()}

    def invoices_by_number(self, numbers: Iterable[str]) -> dict[str, LedgerInvoice]:
        wanted = sorted(set(numbers))
        found: dict[str, LedgerInvoice] = {}
        for start in range(0, len(wanted), IN_CHUNK):
            chunk = wanted[start : start + IN_CHUNK]
            literals = ", ".join(QboClient.quote(n) for n in chunk)
            for row in self._client.query_all("Invoice", f"DocNumber IN ({literals})"):
                number = str(row.get("DocNumber", ""))
                found.setdefault(
                    number,
                    LedgerInvoice(
                        id=str(row["Id"]),
                        number=number,
                        customer_id=str((row.get("CustomerRef") or {}).get("value", "")),
                        total=money(row.get("TotalAmt", Decimal(0))),
                        version=str(row.get("SyncToken", "")) or None,
                        note=str(row.get("PrivateNote", "")),
                    ),
                )
        return found

    def find_customer(self, display_name: str) -> LedgerCustomer | None:
        for row in self._client.find_by_display_name("Customer", display_name):
            return LedgerCustomer(
                id=str(row["Id"]),
                display_name=str(row.get("DisplayName", "")),
                email=(row.get("PrimaryEmailAddr") or {}).get("Address"),
                active=bool(row.get("Active", True)),
                version=str(row.get("SyncToken", "")) or None,
            )
        return None

    # -- writes --------------------------------------------------------------------------------

    def create_customer(self, contact: Contact, *, key: str) -> Written:
        return _written(self._client.create("Customer", translate.customer_fields(contact), request_id=key))

    def update_customer(self, target_id: str, version: str | None, contact: Contact, *, key: str) -> Written:
        fields = translate.customer_fields(contact)
        return self._update_latest("Customer", target_id, version, lambda: fields, key)

    def reactivate_customer(self, target_id: str, *, key: str) -> Written:
        current = self._client.read("Customer", target_id)
        if current.get("Active", True):
            return _written(current)
        body = {"Active": True, "DisplayName": _base_name(str(current.get("DisplayName", "")))}
        return self._update_latest("Customer", target_id, str(current.get("SyncToken")), lambda: body, key)

    def create_invoice(self, draft: InvoiceDraft, *, key: str) -> Written:
        body = translate.invoice_create_body(draft, self._item_ids(), key=key)
        return _written(self._client.create("Invoice", body, request_id=key))

    def update_invoice(
        self, target_id: str, version: str | None, draft: InvoiceDraft, *, key: str
    ) -> Written:
        fields = translate.invoice_fields(draft, self._item_ids())
        return self._update_latest("Invoice", target_id, version, lambda: fields, key)

    def _update_latest(
        self, entity: str, target_id: str, version: str | None, fields: Callable[[], dict[str, Any]], key: str
    ) -> Written:
        """Sparse update; on a stale SyncToken re-read once and apply again (Clio's side wins)."""
        if version is None:
            version = str(self._client.read(entity, target_id).get("SyncToken"))
        try:
            body = {"Id": target_id, "SyncToken": version, **fields()}
            return _written(self._client.update(entity, body, request_id=key))
        except ConflictError:
            fresh = str(self._client.read(entity, target_id).get("SyncToken"))
            body = {"Id": target_id, "SyncToken": fresh, **fields()}
            return _written(self._client.update(entity, body, request_id=f"{key[:48]}-r"))

    # -- errors --------------------------------------------------------------------------------

    def explain(self, error: ApiError, *, label: str) -> RecordError:
        code = error.code or ""
        qbo = f"QuickBooks said: {error}"
        known: dict[str, tuple[str, str, bool]] = {
            "6240": (
                "duplicate_name",
                "Rename the contact in Clio, or the other customer/vendor/employee in QBO.",
                False,
            ),
            "6140": (
                "duplicate_number",
                "Renumber the bill in Clio, or the other transaction in QBO "
                "(turn on Custom transaction numbers in QBO's sales settings).",
                False,
            ),
            "610": (
                "inactive_reference",
                "Make the customer or Product/Service active again in QBO, or change the mapping.",
                True,
            ),
            "2050": ("too_long", "Shorten the field named above in Clio.", False),
            "6070": (
                "amount_mismatch",
                "Report this bill: a line's amount and rate × quantity disagree.",
                False,
            ),
            "6210": (
                "period_closed",
                "The QBO books are closed for this date: move the closing date or change the bill's date.",
                False,
            ),
            "6190": ("company_inactive", "The QBO subscription is not active: renew it.", True),
        }
        cause, remedy, retryable = known.get(
            code,
            ("api_rejected", "Fix the record as the message says; ledgerlink retries it next pass.", True),
        )
        return RecordError(cause=cause, message=qbo, remedy=remedy, retryable=retryable)
