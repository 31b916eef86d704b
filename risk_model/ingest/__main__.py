"""Print the data contracts as Markdown.

``python -m risk_model.ingest > docs/data-contracts.md`` regenerates the documentation.
"""

from __future__ import annotations

from risk_model.ingest.documentation import contracts_markdown

print(contracts_markdown(), end="")
