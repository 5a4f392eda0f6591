"""Integrity primitives for the auditors' verifiable log.

Pure, storage-independent code (canonical record bytes, RFC 6962 Merkle trees and
proofs, signed C2SP checkpoints), so an auditor can re-check a ledger export with
nothing but this package and the published verifier key.
"""
