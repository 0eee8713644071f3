"""Benchmarks for ledgerlink: how long a firm waits, measured against the rate-limit floor, never asserted.

Competing Clio → ledger connectors warn that a firm's first sync "can take up to 24 hours".
``python -m bench`` builds firms of 1,000 and 10,000 bills (:mod:`bench.firm`), syncs each into
QuickBooks Online and into Xero (``--target``) under
the documented limits scaled by ``--scale`` (:mod:`bench.serve`, :mod:`bench.gate`), then again
with every limit off, and prints calls, wall time, the floor those limits impose
(:mod:`bench.floor`), ledgerlink's own CPU time per bill and its peak RSS (:mod:`bench.run`).
Results and their explanation: ``bench/RESULTS.md``. Speed lives here; the test suite asserts
behaviour only.
"""
