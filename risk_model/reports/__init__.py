"""Reports for people outside the analyst's environment: rendered from what is tracked.

Each report is built from a summary that was already computed and suppressed (counts and rates
follow the workspace's small-number rule before they reach a template), so rendering never sees
person-level data.
"""
