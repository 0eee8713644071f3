"""ledgerlink: Clio Manage ↔ QuickBooks Online / Xero sync engine."""

__version__ = "0.1.0"
