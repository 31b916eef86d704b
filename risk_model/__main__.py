"""Allow ``python -m risk_model`` to run the command-line interface."""

from __future__ import annotations

from risk_model.cli import main

if __name__ == "__main__":  # pragma: no cover
    main()
