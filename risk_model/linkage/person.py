"""Housing residents to health persons, on pseudonymised warehouse tables only.

A *housing resident* is one row of the landlord's register (``housing_residents``): one person
in one tenancy. A *health person* is one NHS-number pseudonym in the GP registrations
(``gp_registrations.nhs_pseudo``): the population the models score. The linkage runs in three
steps, each of which only ever sees pseudonyms, coarsened dates and UPRNs:

1. **Exact**: a resident whose record carries an NHS number is linked to the health person with
   the same pseudonym. A resident whose NHS number is on the opt-out list, or belongs to nobody
   registered in the area, is not linked at all (method ``none``): guessing another person for
   them would be wrong.
2. **Probabilistic**: every other resident is compared with the health persons by a Splink
   (Fellegi-Sunter) model whose parameters are estimated from the data without labels
   (u by random sampling, m by expectation maximisation). The evidence is the forename and
   surname (pseudonym equal, or phonetic code equal), the date of birth (pseudonym equal, equal
   with day and month swapped, same year and month, same year), sex, and the home (a UPRN or a
   postcode district in common with any GP-registered address).
3. **Resolution**: a resident links to at most one health person. The best candidate is accepted
   when its match probability reaches ``accept_probability`` and no rival is within
   ``ambiguity_margin`` match-weight points; within one tenancy a health person is linked to at
   most one resident (an exact link wins, then the higher weight). Candidates from
   ``review_probability`` up that are not accepted go to the clerical-review queue with the
   evidence (which fields agreed), never an identifier.

The records, the Splink settings and the resolution are written once. The pairs are scored by
Splink's DuckDB backend, or on the Spark engine by its Spark backend
(:func:`risk_model.spark.linkage.score_pairs`) with the same settings and, given a saved model,
the same parameters.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from risk_model.engine import is_spark, table_names

__all__ = [
    "EVIDENCE_LABELS",
    "RECORD_COLUMNS",
    "LinkageSettings",
    "PersonLinkage",
    "health_sql",
    "housing_sql",
    "link_persons",
    "read_predictions",
    "splink_settings",
    "train_model",
]

log = logging.getLogger(__name__)

_OPT_OUTS = "national_data_opt_outs"

M_ESTIMATION = ("em", "nhs_number_links")
_MIN_LABELS = 100  # fewer NHS-number links than this are too few to estimate m from

# what each comparison level means, for the queue and the report (index = Splink gamma value;
# -1 is "one side missing")
EVIDENCE_LABELS: dict[str, dict[int, str]] = {
    "forename": {-1: "missing", 2: "same", 1: "sounds alike", 0: "differs"},
    "surname": {-1: "missing", 2: "same", 1: "sounds alike", 0: "differs"},
    "date_of_birth": {-1: "missing", 4: "same", 3: "day and month swapped",
                      2: "same year and month", 1: "same year", 0: "differs"},
    "sex": {-1: "missing", 1: "same", 0: "differs"},
    "home": {-1: "missing", 1: "same home (UPRN)", 0: "differs"},
}


@dataclass(frozen=True)
class LinkageSettings:
    """How person linkage decides, and what it may use.

    Parameters
    ----------
    accept_probability : float
        A candidate pair at or above this match probability is linked (if unambiguous).
    review_probability : float
        Candidates from this probability up that are not linked go to clerical review.
    ambiguity_margin : float
        A best candidate is accepted only if the next one scores at least this many
        match-weight points (log2 Bayes factor) lower; otherwise both are reviewed.
    m_estimation : {"em", "nhs_number_links"}
        How the m probabilities are estimated: ``"em"`` (expectation maximisation, no labels:
        the default) or ``"nhs_number_links"`` (from the pairs the NHS number links exactly;
        with fewer than 100 such pairs EM is used instead). Either way the NHS-number links
        are then used to check the model (:attr:`PersonLinkage.nhs_agreement`).
    deterministic_recall : float
        Assumed recall of the exact rules used to estimate the prior match probability.
    max_u_pairs : int
        Random pairs sampled to estimate the u probabilities.
    seed : int
        Seed for that sampling, so the same data give the same model.
    memory_limit : str
        DuckDB memory limit for the linkage engine.
    threads : int
        DuckDB threads.
    """

    accept_probability: float = 0.99
    review_probability: float = 0.5
    m_estimation: str = "em"
    ambiguity_margin: float = 3.0
    deterministic_recall: float = 0.8
    max_u_pairs: int = 2_000_000
    seed: int = 1
    memory_limit: str = "4GB"
    threads: int = 2

    def __post_init__(self) -> None:
        if self.m_estimation not in M_ESTIMATION:
            raise ValueError(f"m_estimation must be one of {', '.join(M_ESTIMATION)}, got "
                             f"{self.m_estimation!r}")
        if not 0 < self.review_probability <= self.accept_probability < 1:
            raise ValueError(
                "need 0 < review_probability <= accept_probability < 1, got "
                f"review_probability={self.review_probability}, "
                f"accept_probability={self.accept_probability}")

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a plain dict (for the run record and MLflow)."""
        return asdict(self)


#: The columns of the records Splink compares (both sides).
RECORD_COLUMNS = ("unique_id", "forename_pseudo", "forename_phonetic", "surname_pseudo",
                   "surname_phonetic", "dob_pseudo", "dob_swapped_pseudo", "birth_year",
                   "birth_month", "sex", "uprns", "home_uprn")


def housing_sql(db: str = "") -> str:
    """One record per housing resident, at their tenancy's home (``db``: schema prefix)."""
    return f"""
        SELECT r.resident_id_pseudo AS unique_id, r.tenancy_ref, r.nhs_pseudo,
               r.forename_pseudo, r.forename_phonetic, r.surname_pseudo, r.surname_phonetic,
               r.dob_pseudo, r.dob_swapped_pseudo, r.birth_year, r.birth_month, r.sex,
               CASE WHEN t.uprn IS NULL THEN [] ELSE [t.uprn] END AS uprns, t.uprn AS home_uprn
        FROM {db}housing_residents r
        LEFT JOIN {db}tenancies t USING (tenancy_ref)
        ORDER BY r.resident_id_pseudo
    """


def health_sql(db: str = "") -> str:
    """One record per health person (NHS-number pseudonym in GP data).

    Names, date of birth and sex come from the person's latest registration (a short duplicate
    registration elsewhere never wins over an open one); ``uprns`` holds every home the person
    was registered at, ``home_uprn`` the latest.
    """
    latest = "(COALESCE(address_to, DATE '9999-12-31'), address_from, source_row)"
    picks = ",\n".join(
        f"arg_max({c}, {latest}) AS {c}" for c in
        ("forename_pseudo", "forename_phonetic", "surname_pseudo", "surname_phonetic",
         "dob_pseudo", "dob_swapped_pseudo", "birth_year", "birth_month", "sex"))
    return f"""
        SELECT nhs_pseudo AS unique_id, {picks},
               list_sort(COALESCE(list(DISTINCT uprn) FILTER (WHERE uprn IS NOT NULL), []))
                   AS uprns, arg_max(uprn, {latest}) AS home_uprn
        FROM {db}gp_registrations
        WHERE nhs_pseudo IS NOT NULL
        GROUP BY nhs_pseudo
        ORDER BY nhs_pseudo
    """


def splink_settings(dialect: str = "duckdb") -> dict[str, Any]:
    """Return the Splink settings, declared once (comparisons, blocking), as a plain dict.

    The m probabilities given here are only EM's starting point (what a record-linkage
    practitioner would guess); the estimated values replace them.

    Parameters
    ----------
    dialect : {"duckdb", "spark"}, optional
        The backend the SQL is written for: Splink turns the declaration into that dialect's
        SQL (the custom levels are written in DuckDB's and translated by Splink with sqlglot).

    Returns
    -------
    dict
        Splink settings.
    """
    from splink import SettingsCreator, block_on
    from splink import comparison_level_library as cll
    from splink import comparison_library as cl

    def name(field: str) -> Any:
        return cl.CustomComparison(
            output_column_name=field,
            comparison_description=f"{field}: pseudonym, then phonetic code",
            comparison_levels=[
                cll.NullLevel(f"{field}_pseudo"),
                cll.ExactMatchLevel(f"{field}_pseudo", term_frequency_adjustments=True)
                .configure(m_probability=0.9),
                cll.ExactMatchLevel(f"{field}_phonetic").configure(m_probability=0.04),
                cll.ElseLevel().configure(m_probability=0.06),
            ])

    dob = cl.CustomComparison(
        output_column_name="date_of_birth",
        comparison_description="date of birth: exact, day-month swapped, year and month, year",
        comparison_levels=[
            cll.NullLevel("dob_pseudo"),
            cll.ExactMatchLevel("dob_pseudo").configure(m_probability=0.95),
            cll.CustomLevel("dob_swapped_pseudo_l = dob_pseudo_r "
                            "OR dob_pseudo_l = dob_swapped_pseudo_r",
                            label_for_charts="day and month swapped", base_dialect_str="duckdb")
            .configure(m_probability=0.01),
            cll.And(cll.ExactMatchLevel("birth_year"), cll.ExactMatchLevel("birth_month"))
            .configure(m_probability=0.01),
            cll.ExactMatchLevel("birth_year").configure(m_probability=0.01),
            cll.ElseLevel().configure(m_probability=0.02),
        ])
    sex = cl.CustomComparison(
        output_column_name="sex",
        comparison_levels=[cll.NullLevel("sex"),
                           cll.ExactMatchLevel("sex").configure(m_probability=0.98),
                           cll.ElseLevel().configure(m_probability=0.02)])
    home = cl.CustomComparison(
        output_column_name="home",
        comparison_description="home: a UPRN in common with any GP-registered address",
        comparison_levels=[
            cll.CustomLevel("array_length(uprns_l) = 0 OR array_length(uprns_r) = 0",
                            label_for_charts="no home known", base_dialect_str="duckdb")
            .configure(is_null_level=True),
            cll.ArrayIntersectLevel("uprns", min_intersection=1).configure(m_probability=0.8),
            cll.ElseLevel().configure(m_probability=0.2),
        ])
    creator = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        comparisons=[name("forename"), name("surname"), dob, sex, home],
        blocking_rules_to_generate_predictions=[
            block_on("dob_pseudo"),
            "l.dob_swapped_pseudo = r.dob_pseudo",
            "l.dob_pseudo = r.dob_swapped_pseudo",
            # names that sound alike and the same birth year: a mistyped day of birth (the
            # names alone would pair every John Smith with every other: 80M pairs at 1M)
            block_on("forename_phonetic", "surname_phonetic", "birth_year"),
            block_on("uprns", arrays_to_explode=["uprns"]),
        ],
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=False,
        additional_columns_to_retain=[],
        probability_two_random_records_match=1e-4,  # replaced by the estimate
    )
    return creator.get_settings(dialect).as_dict()


@dataclass
class PersonLinkage:
    """What :func:`link_persons` produced.

    Attributes
    ----------
    links : pandas.DataFrame
        ``resident_id_pseudo``, ``nhs_pseudo``, ``method`` (``nhs_number`` or
        ``probabilistic``), ``match_probability``, ``match_weight``.
    queue : pandas.DataFrame
        The clerical-review queue: the pair, its probability and weight, ``reason``
        (``grey_zone``, ``ambiguous`` or ``conflict``) and the evidence per field.
    residents : pandas.DataFrame
        One row per housing resident: ``resident_id_pseudo``, ``tenancy_ref``, ``outcome``
        (``nhs_number``, ``probabilistic``, ``review``, ``opted_out``,
        ``nhs_number_not_registered`` or ``no_match``).
    candidates : pandas.DataFrame
        Every scored candidate pair from the review probability up, with the evidence.
    weight_histogram : pandas.DataFrame
        Count of all scored pairs by match weight (1-point bins).
    model : dict
        The trained Splink model (settings and parameters), enough to repeat the linkage.
    counts : dict
        Headline counts.
    nhs_agreement : dict
        How the model alone would have linked the residents linked by NHS number.
    """

    links: pd.DataFrame
    queue: pd.DataFrame
    residents: pd.DataFrame
    candidates: pd.DataFrame
    weight_histogram: pd.DataFrame
    model: dict[str, Any]
    counts: dict[str, int]
    nhs_agreement: dict[str, Any]


def link_persons(warehouse: duckdb.DuckDBPyConnection, *,
                 settings: LinkageSettings | None = None,
                 model: dict[str, Any] | None = None,
                 note: Callable[[str], None] | None = None) -> PersonLinkage:
    """Link every housing resident to at most one health person.

    Parameters
    ----------
    warehouse : duckdb.DuckDBPyConnection or risk_model.spark.SparkConnection
        The warehouse (read only is enough).
    settings : LinkageSettings, optional
        Thresholds and resources; defaults as documented there.
    model : dict, optional
        A Splink model saved by an earlier run (:attr:`PersonLinkage.model`); given, it is used
        as it is instead of being estimated again, so the same linkage can be repeated.
    note : callable, optional
        Called with a short message as each stage starts.

    Returns
    -------
    PersonLinkage
        Links, the review queue, per-resident outcomes and the model.
    """
    settings = settings or LinkageSettings()
    note = note or (lambda _m: None)
    opted_sql = (f"COALESCE(h.nhs_pseudo IN (SELECT nhs_pseudo FROM {_OPT_OUTS}), false)"
                 if _OPT_OUTS in table_names(warehouse) else "false")
    housing = warehouse.execute(f"""
        SELECT h.unique_id, h.tenancy_ref, h.nhs_pseudo,
               h.nhs_pseudo IN (SELECT nhs_pseudo FROM gp_registrations) AS registered,
               {opted_sql} AS opted
        FROM ({housing_sql()}) h""").df()
    n_health = warehouse.execute("SELECT count(DISTINCT nhs_pseudo) FROM gp_registrations"
                                 ).fetchone()[0]

    has_nhs = housing["nhs_pseudo"].notna()
    exact = has_nhs & housing["registered"].fillna(False).astype(bool)
    opted = has_nhs & housing["opted"].fillna(False).astype(bool)
    outcome = pd.Series("no_match", index=housing.index, dtype="object")
    outcome[exact] = "nhs_number"
    outcome[opted] = "opted_out"
    outcome[has_nhs & ~exact & ~opted] = "nhs_number_not_registered"
    exact_links = pd.DataFrame({
        "resident_id_pseudo": housing.loc[exact, "unique_id"].to_numpy(),
        "nhs_pseudo": housing.loc[exact, "nhs_pseudo"].to_numpy(),
        "method": "nhs_number", "match_probability": 1.0, "match_weight": float("nan"),
    })

    note("estimating the linkage model")
    labels = pd.DataFrame({"unique_id_l": housing.loc[exact, "unique_id"].to_numpy(),
                           "unique_id_r": housing.loc[exact, "nhs_pseudo"].to_numpy()})
    if is_spark(warehouse):
        from risk_model.spark.linkage import score_pairs

        scored, histogram, trained = score_pairs(warehouse, labels, settings, model)
    else:
        scored, histogram, trained = _score(_path_of(warehouse), labels, settings, model)
    # every resident was scored; only those without an NHS number are linked by the model,
    # the others show how the model does where the answer is known
    candidates = scored[scored["resident_id_pseudo"].isin(housing.loc[~has_nhs, "unique_id"])]
    agreement = _agreement_with_nhs_links(scored, exact_links, settings)
    note("resolving links")
    links, queue = _resolve(candidates, exact_links, housing, settings)
    outcome[housing["unique_id"].isin(links.loc[links.method == "probabilistic",
                                                 "resident_id_pseudo"])] = "probabilistic"
    in_queue = housing["unique_id"].isin(queue["resident_id_pseudo"]) & (outcome == "no_match")
    outcome[in_queue] = "review"
    residents = pd.DataFrame({"resident_id_pseudo": housing["unique_id"],
                              "tenancy_ref": housing["tenancy_ref"], "outcome": outcome})
    counts = {
        "housing_residents": len(housing),
        "health_persons": int(n_health),
        "linked": len(links),
        **{f"outcome_{k}": int(v) for k, v in residents["outcome"].value_counts().items()},
        "candidate_pairs_scored": int(histogram["pairs"].sum()),
        "review_queue_pairs": len(queue),
    }
    return PersonLinkage(links=links, queue=queue, residents=residents, candidates=candidates,
                         weight_histogram=histogram, model=trained, counts=counts,
                         nhs_agreement=agreement)


def _agreement_with_nhs_links(scored: pd.DataFrame, exact: pd.DataFrame,
                              settings: LinkageSettings) -> dict[str, Any]:
    """How the model would have linked the residents whose NHS number gives the answer.

    The nearest thing to a measured precision and recall a council without ground truth has:
    for every resident linked by NHS number, was the model's accepted best candidate the same
    person? (These residents are not a random sample: see the report.)
    """
    best = scored.drop_duplicates("resident_id_pseudo").set_index("resident_id_pseudo")
    known = exact.set_index("resident_id_pseudo")["nhs_pseudo"]
    best = best.reindex(known.index)
    accepted = best["match_probability"] >= settings.accept_probability
    right = accepted & (best["nhs_pseudo"] == known)
    n_acc = int(accepted.sum())
    return {
        "residents_with_nhs_link": len(known),
        "model_accepted": n_acc,
        "model_agrees": int(right.sum()),
        "precision": (int(right.sum()) / n_acc) if n_acc else None,
        "recall": (int(right.sum()) / len(known)) if len(known) else None,
    }


def _spill_dir() -> str:
    import tempfile

    return str(Path(tempfile.gettempdir()) / "risk_model_linkage.tmp").replace("'", "''")


def _path_of(con: duckdb.DuckDBPyConnection) -> str:
    """The file behind a warehouse connection (the engine attaches it read-only)."""
    path = con.execute("SELECT path FROM duckdb_databases() "
                       "WHERE database_name = current_database()").fetchone()[0]
    if not path:
        raise ValueError("person linkage needs a warehouse file, not an in-memory database")
    return str(path)


def _score(warehouse: str, labels: pd.DataFrame, settings: LinkageSettings,
           model: dict[str, Any] | None,
           ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Estimate (or load) the Splink model and score the candidate pairs.

    The records are built by SQL inside the engine's own in-memory DuckDB, reading the warehouse
    attached read-only, so a million health persons never pass through pandas.
    """
    from splink import DuckDBAPI, Linker

    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{settings.memory_limit}'")
        con.execute(f"SET threads = {int(settings.threads)}")
        con.execute("SET preserve_insertion_order = false")
        con.execute(f"SET temp_directory = '{_spill_dir()}'")  # spill, never die, when large
        quoted = warehouse.replace("'", "''")
        con.execute(f"ATTACH '{quoted}' AS wh (READ_ONLY)")
        columns = ", ".join(RECORD_COLUMNS)
        con.execute(f"CREATE TABLE housing AS SELECT {columns} FROM ({housing_sql('wh.')})")
        con.execute(f"CREATE TABLE health AS SELECT {columns} FROM ({health_sql('wh.')})")
        con.execute("DETACH wh")
        empty = [t for t in ("housing", "health")
                 if not con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]]
        spec = model or splink_settings()
        if empty:
            return _empty_candidates(), pd.DataFrame({"match_weight_bin": [], "pairs": []}), spec
        db = DuckDBAPI(connection=con)
        linker = Linker(["housing", "health"], spec, db,
                        input_table_aliases=["housing", "health"],
                        set_up_basic_logging=False)  # the CLI owns logging
        if model is None:
            train_model(linker, labels, settings)
        trained = linker.misc.save_model_to_json()
        predictions = linker.inference.predict()
        candidates, histogram = read_predictions(con, predictions.physical_name, settings)
        return candidates, histogram, trained
    finally:
        con.close()


def read_predictions(con: Any, table: str, settings: LinkageSettings,
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read Splink's scored pairs: candidates from the review probability up, and the histogram.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection or risk_model.spark.SparkConnection
        The engine holding the predictions.
    table : str
        Splink's predictions table.
    settings : LinkageSettings
        For the review probability.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The candidates (resident, person, weight, probability, gamma per field), ordered by
        resident then weight; and the count of all pairs by whole match weight.
    """
    histogram = con.execute(f"""
        SELECT floor(match_weight) AS match_weight_bin, count(*) AS pairs
        FROM {table} GROUP BY 1 ORDER BY 1""").df()
    gammas = ", ".join(f"gamma_{c}" for c in EVIDENCE_LABELS)
    candidates = con.execute(f"""
        SELECT CASE WHEN source_dataset_l = 'housing' THEN unique_id_l ELSE unique_id_r END
                   AS resident_id_pseudo,
               CASE WHEN source_dataset_l = 'housing' THEN unique_id_r ELSE unique_id_l END
                   AS nhs_pseudo,
               match_weight, match_probability, {gammas}
        FROM {table}
        WHERE match_probability >= ?
        ORDER BY resident_id_pseudo, match_weight DESC, nhs_pseudo
    """, [settings.review_probability]).df()
    return candidates, histogram


def train_model(linker: Any, labels: pd.DataFrame, settings: LinkageSettings) -> None:
    """Estimate the prior, u and m on any Splink backend (its chatter: this module's DEBUG log).

    Parameters
    ----------
    linker : splink.Linker
        The linker, with the records of both sides.
    labels : pandas.DataFrame
        The NHS-number links (``unique_id_l`` resident, ``unique_id_r`` person), for
        ``m_estimation="nhs_number_links"``.
    settings : LinkageSettings
        How to estimate.
    """
    from splink import block_on

    splink_log = logging.getLogger("splink")
    level = splink_log.level
    if not log.isEnabledFor(logging.DEBUG):
        splink_log.setLevel(logging.ERROR)
    try:
        linker.training.estimate_probability_two_random_records_match(
            [block_on("dob_pseudo", "forename_pseudo", "surname_pseudo")],
            recall=settings.deterministic_recall)
        linker.training.estimate_u_using_random_sampling(
            max_pairs=settings.max_u_pairs, seed=settings.seed)
        if settings.m_estimation == "nhs_number_links" and len(labels) >= _MIN_LABELS:
            # residents whose NHS number links them exactly show how each field agrees in
            # a true match
            linker.table_management.register_table(
                labels.assign(source_dataset_l="housing", source_dataset_r="health"),
                "nhs_links", overwrite=True)
            linker.training.estimate_m_from_pairwise_labels("nhs_links")
        else:
            # expectation maximisation, no labels: on pairs sharing a birth date (teaches
            # names, sex, home), then on pairs sharing both names and the latest home (teaches
            # date of birth and sex; names alone would be 74M pairs at 1M)
            for rule in (block_on("dob_pseudo"),
                         block_on("forename_pseudo", "surname_pseudo", "home_uprn")):
                linker.training.estimate_parameters_using_expectation_maximisation(
                    rule, estimate_without_term_frequencies=True)
    finally:
        splink_log.setLevel(level)


def _empty_candidates() -> pd.DataFrame:
    return pd.DataFrame({"resident_id_pseudo": pd.Series([], dtype="object"),
                         "nhs_pseudo": pd.Series([], dtype="object"),
                         "match_weight": pd.Series([], dtype="float64"),
                         "match_probability": pd.Series([], dtype="float64"),
                         **{f"gamma_{c}": pd.Series([], dtype="int64")
                            for c in EVIDENCE_LABELS}})


def _resolve(candidates: pd.DataFrame, exact: pd.DataFrame, housing: pd.DataFrame,
             settings: LinkageSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the one-to-one rules; return the links and the review queue."""
    cand = candidates.copy()
    cand["rank"] = cand.groupby("resident_id_pseudo").cumcount()
    best = cand[cand["rank"] == 0].set_index("resident_id_pseudo")
    second = cand[cand["rank"] == 1].set_index("resident_id_pseudo")["match_weight"]
    gap = best["match_weight"] - second.reindex(best.index)
    ambiguous = gap.notna() & (gap < settings.ambiguity_margin)
    accepted = (best["match_probability"] >= settings.accept_probability) & ~ambiguous
    proposed = best[accepted].reset_index()[["resident_id_pseudo", "nhs_pseudo",
                                             "match_probability", "match_weight"]]
    proposed["method"] = "probabilistic"

    # within a tenancy, one health person is one resident: exact links win, then weight
    tenancy = housing.set_index("unique_id")["tenancy_ref"]
    allp = pd.concat([exact, proposed], ignore_index=True)
    allp["tenancy_ref"] = allp["resident_id_pseudo"].map(tenancy)
    allp["order"] = (allp["method"] != "nhs_number").astype(int)
    allp = allp.sort_values(["order", "match_weight"], ascending=[True, False],
                            na_position="first", kind="stable")
    clash = allp.duplicated(["tenancy_ref", "nhs_pseudo"], keep="first") & (
        allp["method"] == "probabilistic")
    links = allp[~clash][["resident_id_pseudo", "nhs_pseudo", "method", "match_probability",
                          "match_weight"]].sort_values("resident_id_pseudo").reset_index(
        drop=True)

    conflict_ids = set(allp.loc[clash, "resident_id_pseudo"])
    ambiguous_ids = set(ambiguous[ambiguous].index)
    linked_ids = set(links["resident_id_pseudo"])
    queue = cand[~cand["resident_id_pseudo"].isin(linked_ids)].copy()
    queue = queue[queue["resident_id_pseudo"].isin(conflict_ids | ambiguous_ids)
                  | (queue["rank"] == 0)]
    queue["reason"] = "grey_zone"
    queue.loc[queue["resident_id_pseudo"].isin(ambiguous_ids), "reason"] = "ambiguous"
    queue.loc[queue["resident_id_pseudo"].isin(conflict_ids), "reason"] = "conflict"
    for field, labels in EVIDENCE_LABELS.items():
        queue[field] = queue.pop(f"gamma_{field}").map(labels)
    queue = queue.drop(columns="rank").reset_index(drop=True)
    queue.insert(0, "status", "open")
    return links, queue


def model_json(model: dict[str, Any]) -> str:
    """Return a Splink model as stable JSON text (for storing with the run)."""
    return json.dumps(model, sort_keys=True, indent=1, default=str)
