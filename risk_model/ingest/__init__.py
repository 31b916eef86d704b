"""Governed ingest: the boundary between the identifiable landing zone and the warehouse.

``ingest`` checks every landing file against its data contract (``contracts``), quarantines
rows that break a rule with their reasons (``validate``), applies the national data opt-out,
replaces identifiers by keyed pseudonyms and scrubs free text (``boundary``,
``pseudonymise``), writes the pseudonymised tables into the DuckDB warehouse and stores a
reconciliation and a data-quality report (``quality``). See ``docs/data-contracts.md``.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    # With PySpark installed (the [spark] extra), pandera imports pyspark.pandas, which warns on
    # pandas 3 at import; risk_model's Spark code uses only pyspark.sql. Imported here, first,
    # so the warning is not printed on every command.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas",
                            category=FutureWarning)
    import pandera.pandas  # noqa: F401 - imported once, quietly, for contracts and validate

from risk_model.ingest.pseudonymise import KEY_ENV, PseudonymKey, load_key
from risk_model.ingest.run import FileReconciliation, IngestResult, ingest

__all__ = ["KEY_ENV", "FileReconciliation", "IngestResult", "PseudonymKey", "ingest", "load_key"]
