"""Xero: its connections (tenants) and the mapping of its error answers.

The Accounting API client comes with a later issue; it shares :func:`map_error`.
"""

from __future__ import annotations

from ledgerlink.providers.xero.connections import (
    XeroTenant,
    auth_event_id_of,
    list_tenants,
    parse_connections,
    remove_connection,
)
from ledgerlink.providers.xero.errors import map_error

__all__ = [
    "XeroTenant",
    "auth_event_id_of",
    "list_tenants",
    "map_error",
    "parse_connections",
    "remove_connection",
]
