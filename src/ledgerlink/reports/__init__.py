"""Reconciliation reports: pure comparisons of Clio's figures with the ledger's (no I/O here)."""
