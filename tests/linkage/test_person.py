"""Person linkage: exact links, the Splink model's decisions, the one-to-one rule, the queue."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from risk_model.ingest import PseudonymKey
from risk_model.ingest.pseudonymise import pseudonymise
from risk_model.linkage.person import EVIDENCE_LABELS, LinkageSettings, _resolve
from risk_model.linkage.run import link
from tests.linkage.conftest import Linked

pytestmark = pytest.mark.slow


def _nhs_pseudo(nhs: str, key: PseudonymKey) -> str:
    return str(pseudonymise(pd.Series([nhs], dtype="string"), key, domain="nhs_number")[0])


# ---- exact links ------------------------------------------------------------------------------

def test_exact_links_join_the_same_nhs_pseudonym(linked_area: Linked):
    rows = linked_area.table("""
        SELECT l.*, r.nhs_pseudo AS resident_nhs FROM person_links l
        JOIN housing_residents r USING (resident_id_pseudo)""")
    exact = rows[rows["method"] == "nhs_number"]
    assert len(exact) > 50
    assert (exact["nhs_pseudo"] == exact["resident_nhs"]).all()
    assert (exact["match_probability"] == 1.0).all()
    # and every resident whose NHS pseudonym a health person carries is linked that way
    expected = linked_area.table("""
        SELECT count(*) AS n FROM housing_residents r
        WHERE nhs_pseudo IN (SELECT nhs_pseudo FROM gp_registrations)""")["n"][0]
    assert len(exact) == expected


def test_probabilistic_links_come_only_where_no_nhs_number(linked_area: Linked):
    rows = linked_area.table("""
        SELECT l.method, r.nhs_pseudo FROM person_links l
        JOIN housing_residents r USING (resident_id_pseudo)""")
    prob = rows[rows["method"] == "probabilistic"]
    assert len(prob) > 50
    assert prob["nhs_pseudo"].isna().all()


# ---- hard cases, planted in the landing zone (see conftest) ------------------------------------

def _link_of(linked: Linked, row: int) -> pd.DataFrame:
    return linked.table(f"""
        SELECT l.*, o.outcome FROM housing_residents r
        JOIN link_resident_outcomes o USING (resident_id_pseudo)
        LEFT JOIN person_links l USING (resident_id_pseudo)
        WHERE r.source_row = {int(row)}""")


def test_typo_in_name_and_swapped_birth_date_still_links(linked_area: Linked, link_key):
    planted = linked_area.planted
    row = _link_of(linked_area, planted["typo_row"])
    assert len(row) == 1, "the planted resident was not ingested"
    assert row["outcome"][0] == "probabilistic"
    assert row["nhs_pseudo"][0] == _nhs_pseudo(planted["typo_nhs"], link_key)


def test_namesake_with_same_birth_year_is_not_linked(linked_area: Linked, link_key):
    planted = linked_area.planted
    row = _link_of(linked_area, planted["stranger_row"])
    assert len(row) == 1, "the planted stranger was not ingested"
    assert row["nhs_pseudo"][0] != _nhs_pseudo(planted["stranger_nhs"], link_key)
    assert row["outcome"][0] in {"no_match", "review"}


# ---- the one-to-one rule and the queue, on made-up candidates ---------------------------------

def _candidates(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["resident_id_pseudo", "nhs_pseudo", "match_weight"])
    frame["match_probability"] = 1 / (1 + 2.0 ** -frame["match_weight"])
    for field in EVIDENCE_LABELS:
        frame[f"gamma_{field}"] = 1
    return frame.sort_values(["resident_id_pseudo", "match_weight"],
                             ascending=[True, False]).reset_index(drop=True)


def _housing(tenancy_of: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({"unique_id": list(tenancy_of), "tenancy_ref": list(tenancy_of.values())})


NO_EXACT = pd.DataFrame({"resident_id_pseudo": pd.Series([], dtype=object),
                         "nhs_pseudo": pd.Series([], dtype=object), "method": [],
                         "match_probability": [], "match_weight": []})


def test_one_resident_links_to_at_most_one_person():
    cand = _candidates([("r1", "p1", 20.0), ("r1", "p2", 12.0), ("r2", "p3", 15.0)])
    links, queue = _resolve(cand, NO_EXACT, _housing({"r1": "t1", "r2": "t2"}),
                            LinkageSettings())
    assert links.set_index("resident_id_pseudo")["nhs_pseudo"].to_dict() == {
        "r1": "p1", "r2": "p3"}
    assert queue.empty


def test_close_rivals_go_to_review_not_to_a_link():
    cand = _candidates([("r1", "p1", 20.0), ("r1", "p2", 19.0)])
    links, queue = _resolve(cand, NO_EXACT, _housing({"r1": "t1"}), LinkageSettings())
    assert links.empty
    assert set(queue["nhs_pseudo"]) == {"p1", "p2"}
    assert set(queue["reason"]) == {"ambiguous"}


def test_one_person_is_one_resident_within_a_tenancy():
    cand = _candidates([("r1", "p1", 20.0), ("r2", "p1", 14.0), ("r3", "p1", 16.0)])
    links, queue = _resolve(cand, NO_EXACT, _housing({"r1": "t1", "r2": "t1", "r3": "t2"}),
                            LinkageSettings())
    # r2 clashes with r1 in tenancy t1 and loses; r3 (another tenancy: a mover) keeps its link
    assert links.set_index("resident_id_pseudo")["nhs_pseudo"].to_dict() == {
        "r1": "p1", "r3": "p1"}
    assert queue.set_index("resident_id_pseudo")["reason"].to_dict() == {"r2": "conflict"}


def test_an_exact_link_wins_over_a_probabilistic_one_in_the_tenancy():
    exact = pd.DataFrame({"resident_id_pseudo": ["r1"], "nhs_pseudo": ["p1"],
                          "method": ["nhs_number"], "match_probability": [1.0],
                          "match_weight": [np.nan]})
    cand = _candidates([("r2", "p1", 30.0)])
    links, queue = _resolve(cand, exact, _housing({"r1": "t1", "r2": "t1"}), LinkageSettings())
    assert links["resident_id_pseudo"].tolist() == ["r1"]
    assert queue["reason"].tolist() == ["conflict"]


def test_grey_zone_goes_to_the_queue_with_evidence_and_no_identifiers():
    cand = _candidates([("r1", "p1", 3.0)])  # probability about 0.89
    links, queue = _resolve(cand, NO_EXACT, _housing({"r1": "t1"}), LinkageSettings())
    assert links.empty
    assert queue["reason"].tolist() == ["grey_zone"]
    assert set(queue.columns) == {"status", "resident_id_pseudo", "nhs_pseudo", "match_weight",
                                  "match_probability", "reason", *EVIDENCE_LABELS}
    assert queue["forename"].tolist() == ["sounds alike"]


def test_review_queue_in_the_warehouse_is_the_grey_zone(linked_area: Linked):
    queue = linked_area.table("SELECT * FROM link_review_queue")
    links = linked_area.table("SELECT resident_id_pseudo FROM person_links")
    settings = LinkageSettings()
    grey = queue[queue["reason"] == "grey_zone"]
    assert grey["match_probability"].between(settings.review_probability,
                                             settings.accept_probability).all()
    assert not set(queue["resident_id_pseudo"]) & set(links["resident_id_pseudo"])
    for field, labels in EVIDENCE_LABELS.items():
        assert set(queue[field]) <= set(labels.values())


def test_settings_refuse_a_review_threshold_above_acceptance():
    with pytest.raises(ValueError, match="review_probability"):
        LinkageSettings(accept_probability=0.9, review_probability=0.95)


def test_saved_model_repeats_the_same_links(linked_area: Linked, tmp_path: Path):
    model = Path(linked_area.result.reports["model"])
    before = linked_area.table("SELECT * FROM person_links ORDER BY resident_id_pseudo")
    again = link(linked_area.ws, model=model, overwrite=True)
    after = Linked(linked_area.ws, again).table(
        "SELECT * FROM person_links ORDER BY resident_id_pseudo")
    cols = ["resident_id_pseudo", "nhs_pseudo", "method", "match_probability"]
    pd.testing.assert_frame_equal(before[cols], after[cols])
    assert (after["model_version"] == again.run_id).all()


def test_m_from_nhs_number_links_is_as_good(linked_area: Linked):
    import duckdb

    from risk_model.linkage.person import link_persons
    from risk_model.linkage.quality import quality_against_truth

    with duckdb.connect(str(linked_area.ws.warehouse), read_only=True) as con:
        people = link_persons(con, settings=LinkageSettings(m_estimation="nhs_number_links"))
        quality = quality_against_truth(con, people.links, linked_area.ws.truth)
    assert quality["precision"] >= 0.999
    assert quality["recall"] >= 0.985


def test_unknown_m_estimation_is_refused():
    with pytest.raises(ValueError, match="m_estimation must be one of em, nhs_number_links"):
        LinkageSettings(m_estimation="labels")
