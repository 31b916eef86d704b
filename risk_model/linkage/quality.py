"""How good the person links are: against ground truth where it exists, from the model where not.

Linkage errors are not random. They fall more on some ethnic groups, on children, on people who
moved recently; whatever is built on the links inherits the bias. So every figure here is given
overall and by group:

- :func:`link_rates` needs no truth (a real council's case): the share of housing residents
  linked, by ethnic group, age band, sex, IMD quintile and "moved in the last 2 years", plus the
  expected number of false links implied by the match probabilities.
- :func:`quality_against_truth` reads a synthetic workspace's ``truth/`` folder: precision and
  recall overall and by the same groups (the groups taken from the truth, not from the records).

Counts are shown through :mod:`risk_model.disclosure` under the rule the caller passes (the
linkage run passes its workspace's, :func:`~risk_model.disclosure.rule_for`); a rate is withheld
(``"*"``) when its group is small.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from risk_model.codes import ETHNIC_GROUP_OF, age_band
from risk_model.disclosure import SUPPRESSED, SuppressionRule, suppress_count, suppressed_rate

__all__ = ["GROUPS", "data_end", "link_rates", "quality_against_truth", "truth_persons"]

GROUPS = ("ethnic_group", "age_band", "sex", "imd_quintile", "moved_last_2_years")


def data_end(con: duckdb.DuckDBPyConnection) -> pd.Timestamp:
    """Return the latest registration or tenancy start in the warehouse (the data's "now")."""
    value = con.execute("""
        SELECT greatest((SELECT max(address_from) FROM gp_registrations),
                        (SELECT max(start_date) FROM housing_residents))""").fetchone()[0]
    return pd.Timestamp(value)


def _imd_quintile(decile: pd.Series) -> pd.Series:
    q = (pd.to_numeric(decile, errors="coerce") + 1) // 2
    return q.map(lambda v: "unknown" if pd.isna(v) else f"Q{int(v)}")


def _resident_groups(con: duckdb.DuckDBPyConnection, when: pd.Timestamp) -> pd.DataFrame:
    """Groups of each housing resident as the records show them (no truth needed)."""
    frame = con.execute("""
        SELECT r.resident_id_pseudo, r.ethnic_category, r.birth_year, r.sex, r.start_date,
               i.imd_decile
        FROM housing_residents r
        LEFT JOIN tenancies t USING (tenancy_ref)
        LEFT JOIN gazetteer g ON g.uprn = t.uprn
        LEFT JOIN lsoa_imd i ON i.lsoa_code = g.lsoa_code
    """).df()
    return pd.DataFrame({
        "resident_id_pseudo": frame["resident_id_pseudo"],
        "ethnic_group": frame["ethnic_category"].map(ETHNIC_GROUP_OF).fillna("Not stated"),
        "age_band": age_band(frame["birth_year"], when.year),
        "sex": frame["sex"].fillna("unknown"),
        "imd_quintile": _imd_quintile(frame["imd_decile"]),
        "moved_last_2_years": np.where(
            pd.to_datetime(frame["start_date"]) > when - pd.DateOffset(years=2), "yes", "no"),
    })


def _rate_table(groups: pd.DataFrame, hit: pd.Series, *, label: str,
                rule: SuppressionRule) -> dict[str, Any]:
    """Per group: the count (suppressed) and the rate of ``hit`` (withheld if disclosive)."""
    out: dict[str, Any] = {}
    for g in GROUPS:
        rows = []
        for value, idx in groups.groupby(g).groups.items():
            n, k = len(idx), int(hit.loc[idx].sum())
            rows.append({"group": str(value), "n": suppress_count(n, rule),
                         label: suppressed_rate(k, n, rule)})
        out[g] = rows
    return out


def link_rates(con: duckdb.DuckDBPyConnection, residents: pd.DataFrame,
               links: pd.DataFrame, *, rule: SuppressionRule | None = None) -> dict[str, Any]:
    """Return the link rate overall and by group, and the expected false links.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse.
    residents : pandas.DataFrame
        One row per housing resident with ``resident_id_pseudo`` and ``outcome``.
    links : pandas.DataFrame
        The accepted links with ``method`` and ``match_probability``.
    rule : SuppressionRule, optional
        The small-number rule of the group tables: a step passes
        :func:`~risk_model.disclosure.rule_for` of its workspace; ``None`` means NHS Digital's.

    Returns
    -------
    dict
        ``link_rate``, ``by_group`` (rates suppressed where small) and ``expected_false_links``
        (the sum of 1 - probability over the probabilistic links) with its rate.
    """
    when = data_end(con)
    groups = _resident_groups(con, when).set_index("resident_id_pseudo").reindex(
        residents["resident_id_pseudo"]).reset_index()
    linked = residents["resident_id_pseudo"].isin(links["resident_id_pseudo"]).reset_index(
        drop=True)
    prob = links.loc[links["method"] == "probabilistic", "match_probability"]
    expected = float((1 - prob).sum())
    return {
        "as_of": str(when.date()),
        "residents": len(residents),
        "linked": int(linked.sum()),
        "link_rate": round(float(linked.mean()), 4) if len(linked) else None,
        "by_group": _rate_table(groups, linked, label="link_rate",
                                rule=rule or SuppressionRule()),
        "expected_false_links": round(expected, 2),
        "expected_false_link_rate": round(expected / len(links), 5) if len(links) else None,
    }


def truth_persons(con: duckdb.DuckDBPyConnection, truth: Path) -> tuple[pd.Series, pd.Series]:
    """Return the true person behind each resident pseudonym and each NHS-number pseudonym.

    For evaluation on synthetic data only: it reads the generator's ``truth/`` folder.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse.
    truth : pathlib.Path
        The workspace's ``truth/`` folder.

    Returns
    -------
    (pandas.Series, pandas.Series)
        The true ``person_id`` by ``resident_id_pseudo`` and by ``nhs_pseudo``.
    """
    ident = pd.read_parquet(truth / "record_identity.parquet",
                            columns=["source", "row_number", "person_id"])

    def of(source: str, sql: str, key: str) -> pd.Series:
        rows = con.execute(sql).df()
        ids = ident[ident["source"] == source].set_index("row_number")["person_id"]
        rows["person_id"] = rows["source_row"].map(ids)
        return rows.drop_duplicates(key).set_index(key)["person_id"]

    resident = of("housing_residents",
                  "SELECT resident_id_pseudo, source_row FROM housing_residents",
                  "resident_id_pseudo")
    health = of("gp_registrations",
                "SELECT nhs_pseudo, source_row FROM gp_registrations "
                "WHERE nhs_pseudo IS NOT NULL", "nhs_pseudo")
    return resident, health


def _truth_groups(truth: Path, resident_person: pd.Series, when: pd.Timestamp,
                  con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    persons = pd.read_parquet(truth / "persons.parquet").set_index("person_id")
    homes = pd.read_parquet(truth / "homes.parquet").set_index("uprn")
    residence = pd.read_parquet(truth / "residence.parquet")
    tenancy_uprn = con.execute("""
        SELECT r.resident_id_pseudo, t.uprn FROM housing_residents r
        JOIN tenancies t USING (tenancy_ref)""").df().set_index("resident_id_pseudo")["uprn"]
    pid = resident_person
    first = residence.groupby("person_id")["from_date"].transform("min")
    recent = residence[(residence["from_date"] > first)
                       & (residence["from_date"] > when - pd.DateOffset(years=2))
                       & (residence["from_date"] <= when)]
    birth_year = pid.map(persons["birth_month"]).astype("string").str.slice(0, 4)
    return pd.DataFrame({
        "ethnic_group": pid.map(persons["ethnic_group"]).fillna("Not stated").to_numpy(),
        "age_band": age_band(birth_year, when.year).to_numpy(),
        "sex": pid.map(persons["sex"]).fillna("unknown").to_numpy(),
        "imd_quintile": _imd_quintile(
            pid.index.to_series().map(tenancy_uprn).map(homes["imd_decile"])).to_numpy(),
        "moved_last_2_years": np.where(pid.isin(set(recent["person_id"])), "yes", "no"),
    }, index=pid.index)


def quality_against_truth(con: duckdb.DuckDBPyConnection, links: pd.DataFrame,
                          truth: Path, *,
                          rule: SuppressionRule | None = None) -> dict[str, Any] | None:
    """Return precision and recall of the person links against a synthetic area's truth.

    A resident is *linkable* when the true person behind the record is among the health
    persons in the warehouse (not opted out, registered with a GP). A link is *correct* when
    both sides are the same true person.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse.
    links : pandas.DataFrame
        The accepted links (``resident_id_pseudo``, ``nhs_pseudo``, ``method``).
    truth : pathlib.Path
        The workspace's ``truth/`` folder.
    rule : SuppressionRule, optional
        The small-number rule of the group tables: a step passes
        :func:`~risk_model.disclosure.rule_for` of its workspace; ``None`` means NHS Digital's.

    Returns
    -------
    dict or None
        ``precision``, ``recall``, counts, the same by method, and ``by_group`` (recall and
        precision per group, from the truth's groups); ``None`` without a truth folder.
    """
    if not (truth / "record_identity.parquet").exists():
        return None
    rule = rule or SuppressionRule()
    resident_person, health_person = truth_persons(con, truth)
    when = data_end(con)
    linkable = resident_person[resident_person.isin(set(health_person.dropna()))]
    true_of_link = links["nhs_pseudo"].map(health_person)
    correct = (links["resident_id_pseudo"].map(resident_person) == true_of_link).to_numpy()
    result: dict[str, Any] = {
        "linkable_residents": len(linkable),
        "links": len(links),
        "correct_links": int(correct.sum()),
        "false_links": int((~correct).sum()),
        "precision": round(float(correct.mean()), 5) if len(links) else None,
        "recall": round(float(correct.sum() / len(linkable)), 5) if len(linkable) else None,
        "by_method": {},
    }
    for method, idx in links.groupby("method").groups.items():
        c = correct[links.index.get_indexer(idx)]
        result["by_method"][str(method)] = {"links": len(idx), "precision":
                                            round(float(c.mean()), 5)}
    groups = _truth_groups(truth, resident_person, when, con)
    right = pd.Series(False, index=resident_person.index)
    right[links.loc[correct, "resident_id_pseudo"]] = True
    linked = pd.Series(False, index=resident_person.index)
    linked[links["resident_id_pseudo"]] = True
    by_group: dict[str, Any] = {}
    for g in GROUPS:
        rows = []
        for value, idx in groups.groupby(g).groups.items():
            able = idx[idx.isin(linkable.index)]
            n_link = int(linked[idx].sum())
            n_right = int(right[idx].sum())
            small = len(able) < rule.threshold
            rows.append({
                "group": str(value),
                "linkable": suppress_count(len(able), rule),
                "recall": SUPPRESSED if small else round(n_right / len(able), 4),
                "precision": (SUPPRESSED if n_link < rule.threshold
                              else round(n_right / n_link, 4)),
            })
        by_group[g] = rows
    result["by_group"] = by_group
    result["groups_more_than_3_points_below"] = [
        {"dimension": g, "group": r["group"], "recall": r["recall"]}
        for g, rows in by_group.items() for r in rows
        if isinstance(r["recall"], float) and result["recall"] is not None
        and r["recall"] < result["recall"] - 0.03]
    return result
