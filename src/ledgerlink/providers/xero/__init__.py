"""Xero: its connections (tenants), the Accounting API client with its limits, and its error answers.

``connections`` lists and disconnects organisations; ``client`` is the typed Accounting API of one
organisation (``wire`` its records, ``limiter`` the per-organisation limits); both map errors with
:func:`map_error`. ``ledger`` is Xero as the sync's Ledger (:class:`XeroLedger`), ``translate`` its
pure body-building.
"""

from __future__ import annotations

from ledgerlink.providers.xero.client import (
    ElementOutcome,
    XeroClient,
    accounting_url,
    idempotency_key,
    issued_between,
)
from ledgerlink.providers.xero.connections import (
    XeroTenant,
    auth_event_id_of,
    list_tenants,
    parse_connections,
    remove_connection,
)
from ledgerlink.providers.xero.errors import DailyLimitReached, map_error
from ledgerlink.providers.xero.ledger import XeroLedger
from ledgerlink.providers.xero.limiter import XeroLimiter
from ledgerlink.providers.xero.wire import (
    XeroAccount,
    XeroAllocation,
    XeroBankTransaction,
    XeroContact,
    XeroCreditNote,
    XeroInvoice,
    XeroLineItem,
    XeroOrganisation,
    XeroPayment,
    XeroTaxRate,
)

__all__ = [
    "DailyLimitReached",
    "ElementOutcome",
    "XeroAccount",
    "XeroAllocation",
    "XeroBankTransaction",
    "XeroClient",
    "XeroContact",
    "XeroCreditNote",
    "XeroInvoice",
    "XeroLedger",
    "XeroLimiter",
    "XeroLineItem",
    "XeroOrganisation",
    "XeroPayment",
    "XeroTaxRate",
    "XeroTenant",
    "accounting_url",
    "auth_event_id_of",
    "idempotency_key",
    "issued_between",
    "list_tenants",
    "map_error",
    "parse_connections",
    "remove_connection",
]
