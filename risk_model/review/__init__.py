"""The review app's room: housing officers work their lists and record what they did.

:mod:`~risk_model.review.store` is its database (SQLite in the workspace by default,
``DATABASE_URL`` for PostgreSQL): the actions officers record, which the monthly scoring reads
to hold back residents who were recently helped.
"""

from __future__ import annotations
