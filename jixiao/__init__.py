"""Jixiao assembled: the `jixiao` command, and the service wiring that needs every layer.

The layers import downwards only — ledger < projections < schema < jixiao (checked by
import-linter, see pyproject.toml) — so whatever needs all of them lives here.
"""
