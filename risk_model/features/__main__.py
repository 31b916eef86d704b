"""Print the data dictionary of the feature catalogue.

``python -m risk_model.features > docs/data-dictionary.md`` regenerates the Markdown;
``python -m risk_model.features --html > data-dictionary.html`` writes the standalone page.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from risk_model.features.catalogue import load_catalogue
from risk_model.features.dictionary import dictionary_html, dictionary_markdown


def main(argv: Sequence[str] | None = None) -> int:
    """Print the data dictionary of the default catalogue (Markdown, or HTML with ``--html``).

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status, 0.
    """
    parser = argparse.ArgumentParser(
        prog="python -m risk_model.features",
        description="Print the data dictionary of the feature catalogue (features/*.yaml).")
    parser.add_argument("--html", action="store_true",
                        help="print a standalone HTML page instead of Markdown")
    args = parser.parse_args(argv)
    catalogue = load_catalogue()
    print(dictionary_html(catalogue) if args.html else dictionary_markdown(catalogue), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
