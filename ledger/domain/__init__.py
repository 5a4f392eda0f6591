"""Aggregates of the ledger. Each event type is defined once, on its aggregate."""
