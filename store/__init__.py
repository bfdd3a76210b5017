"""The store: what a practice's claimrisk remembers from one day to the next.

Contract tables (claims, lines, remits and their codes, payers, appeals) as loaded from its 837s,
835s and exports; every score given; the denial worklist with its history; users and their
roles; routing rules; and an append-only audit log. SQLAlchemy 2 Core over SQLite (a file under
``data/``, the default) or PostgreSQL (``--db URL`` / ``CLAIMRISK_DATABASE_URL``); the schema
is created and migrated by Alembic (``claimrisk db upgrade``). See docs/store.md.

Layering: serving → store → training → features. The store imports the contract and the X12
readers from ``features`` and the model's ranking from ``training``; only ``serving`` imports
the store.
"""
