"""QuickBooks Online: the typed API client and its wire models (the payload mapping is translate.py)."""

from __future__ import annotations

from ledgerlink.providers.qbo.client import BatchItem, BatchResult, QboClient, map_error
from ledgerlink.providers.qbo.wire import CompanyInfo, Customer, Invoice, InvoiceLine, Item, Ref, bare_name

__all__ = [
    "BatchItem",
    "BatchResult",
    "CompanyInfo",
    "Customer",
    "Invoice",
    "InvoiceLine",
    "Item",
    "QboClient",
    "Ref",
    "bare_name",
    "map_error",
]
