"""Monthly scoring: the champion model's lists of people to contact, and drift checks.

This room turns a month's feature snapshot into prioritised lists and says whether they can be
trusted. :mod:`~risk_model.scoring.drift` compares a month with the model's training reference
(population stability index, missing values) and gives the verdict.
"""

from __future__ import annotations
