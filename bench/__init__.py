"""Benchmarks for ledgerlink: how long a firm waits, measured, never asserted.

Competing Clio → QuickBooks connectors warn that a firm's first sync "can take up to 24 hours".
``python -m bench`` measures ours against the built-in sandbox with production-shaped limits
(Clio 50 requests/minute per token, QuickBooks Online 10/s and 500/min per company) and a simulated
network round trip, so the numbers say what the rate limits and the request count cost, not how
fast loopback is. Speed lives here; the test suite asserts behaviour only.
"""
