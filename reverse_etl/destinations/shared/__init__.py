"""Pieces every platform shares: phone parsing, PII hashing, value SQL."""
