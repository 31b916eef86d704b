"""Governed ingest: the boundary between the identifiable landing zone and the warehouse.

``ingest`` checks every landing file against its data contract (``contracts``), quarantines
rows that break a rule with their reasons (``validate``), applies the national data opt-out,
replaces identifiers by keyed pseudonyms and scrubs free text (``boundary``,
``pseudonymise``), writes the pseudonymised tables into the DuckDB warehouse and stores a
reconciliation and a data-quality report (``quality``). See ``docs/data-contracts.md``.
"""

from __future__ import annotations

from risk_model.ingest.pseudonymise import KEY_ENV, PseudonymKey, load_key
from risk_model.ingest.run import FileReconciliation, IngestResult, ingest

__all__ = ["KEY_ENV", "FileReconciliation", "IngestResult", "PseudonymKey", "ingest", "load_key"]
