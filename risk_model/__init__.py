"""risk_model: find the residents whose health is most at risk from their housing.

The package links housing-condition data with health data under governance, trains models that
prioritise residents for intervention, explains and audits them, and tracks every run.
"""

from __future__ import annotations

from risk_model.errors import RiskModelError

__all__ = ["RiskModelError", "__version__"]
__version__ = "0.1.0"
