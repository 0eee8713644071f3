"""Clio Manage API v4: the typed client, its wire models, their translation to domain records, the Source."""

from __future__ import annotations

from ledgerlink.providers.clio.client import API_VERSION, ClioClient, clio_error
from ledgerlink.providers.clio.source import ClioSource
from ledgerlink.providers.clio.translate import contact_from_clio, invoice_from_clio
from ledgerlink.providers.clio.wire import (
    ClioAccount,
    ClioActivity,
    ClioActivityDescription,
    ClioBill,
    ClioBillingSettings,
    ClioContact,
    ClioExpenseCategory,
    ClioLineItem,
    ClioUser,
)

__all__ = [
    "API_VERSION",
    "ClioAccount",
    "ClioActivity",
    "ClioActivityDescription",
    "ClioBill",
    "ClioBillingSettings",
    "ClioClient",
    "ClioContact",
    "ClioExpenseCategory",
    "ClioLineItem",
    "ClioSource",
    "ClioUser",
    "clio_error",
    "contact_from_clio",
    "invoice_from_clio",
]
