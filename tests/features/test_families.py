"""Every feature family on a tiny hand-made warehouse, against values computed by hand.

The warehouse is built in an in-memory DuckDB with only the tables and columns the catalogue and
the population SQL read, typed as the warehouse types them (dates TIMESTAMP, UPRNs and counts
BIGINT, flags BOOLEAN). Person ids such as ``p_mum`` stand for NHS-number pseudonyms. The as-of
date is 2025-03-31 (cut-off 2025-03-31 without a recording lag).

Homes
-----
- ``H1`` (UPRN 100000000001) council flat, tenancy T1 with 1 bedroom, LSOA IMD decile 2:
  ``p_mum`` (35, F), ``p_girl`` (8, F), ``p_boy`` (12, M). Damp reports, investigations, work
  orders, two stock condition surveys and three EPCs.
- ``H2`` (100000000002) owner-occupied semi, never surveyed, no EPC, decile 7: ``p_elder`` (70,
  M) alone (his wife ``p_died`` died before the as-of date). ``p_elder`` carries the health rows.
- ``H3`` (100000000003) private rented terrace, one private-sector inspection, one EPC, decile 7:
  ``p_renter`` (45, F), who dies after the as-of date.
- ``H5`` (100000000005) housing association flat, tenancy T5 with 2 bedrooms, decile 3:
  ``p_tenant`` (67, F) and the opted-out ``p_optout`` (a tenancy member who is not in the
  population but still lives there).
- ``p_nomatch`` (30, sex not recorded): GP address that did not match a UPRN.

Not in the population: ``p_died`` (died 2025-01-15), ``p_moved`` (deregistered 2024-12-31),
``p_future`` (registered 2025-04-15), ``p_optout`` (national data opt-out).
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

from risk_model.features import build_snapshot, load_catalogue
from risk_model.features.catalogue import Catalogue
from risk_model.features.snapshot import snapshot_sql

AS_OF = date(2025, 3, 31)

H1, H2, H3, H5 = 100000000001, 100000000002, 100000000003, 100000000005

TS = "TIMESTAMP"

# (table, {column: type}, rows)
_TABLES: list[tuple[str, dict[str, str], list[tuple]]] = [
    ("gp_registrations",
     {"record_id": "BIGINT", "nhs_pseudo": "VARCHAR", "sex": "VARCHAR",
      "ethnic_category": "VARCHAR", "birth_year": "BIGINT", "birth_month": "BIGINT",
      "registration_date": TS, "deregistration_date": TS, "address_from": TS},
     [
         (1, "p_mum", "F", "M", 1989, 6, "2010-01-01", None, "2010-01-01"),
         (2, "p_girl", "F", "M", 2016, 6, "2016-07-01", None, "2016-07-01"),
         (3, "p_boy", "M", "M", 2012, 6, "2012-07-01", None, "2012-07-01"),
         (4, "p_elder", "M", "A", 1954, 6, "1990-01-01", None, "1990-01-01"),
         (5, "p_renter", "F", "H", 1979, 6, "2015-01-01", None, "2015-01-01"),
         # sex recorded as not known: the warehouse holds an empty string
         (6, "p_nomatch", "", None, 1994, 6, "2020-01-01", None, "2020-01-01"),
         (7, "p_tenant", "F", "Z", 1957, 6, "2000-01-01", None, "2000-01-01"),
         (8, "p_died", "F", "A", 1955, 1, "1990-01-01", None, "1990-01-01"),
         (9, "p_moved", "M", "A", 1980, 1, "2018-01-01", "2024-12-31", "2018-01-01"),
         (10, "p_future", "M", "A", 1990, 1, "2025-04-15", None, "2025-04-15"),
         (11, "p_optout", "M", "A", 1955, 3, "2000-01-01", None, "2000-01-01"),
     ]),
    ("person_homes",
     {"person_id": "VARCHAR", "uprn": "BIGINT", "tenancy_ref": "VARCHAR", "source": "VARCHAR",
      "priority": "INTEGER", "from_date": TS, "to_date": TS},
     [
         ("p_mum", H1, "T1", "tenancy", 1, "2015-01-01", None),
         # a stale GP address at H3: the tenancy (priority 1) wins
         ("p_mum", H3, None, "gp_registration", 2, "2010-01-01", None),
         ("p_girl", H1, "T1", "tenancy", 1, "2016-07-01", None),
         ("p_boy", H1, "T1", "tenancy", 1, "2015-01-01", None),
         ("p_elder", H2, None, "gp_registration", 2, "1990-01-01", None),
         ("p_renter", H3, None, "gp_registration", 2, "2015-01-01", None),
         ("p_nomatch", None, None, "gp_registration", 2, "2020-01-01", None),
         ("p_tenant", H5, "T5", "tenancy", 1, "2000-01-01", None),
         ("p_died", H2, None, "gp_registration", 2, "1990-01-01", None),
         ("p_moved", H3, None, "gp_registration", 2, "2018-01-01", None),
         ("p_future", H1, None, "gp_registration", 2, "2025-04-15", None),
         ("p_optout", H5, "T5", "tenancy", 1, "2000-01-01", None),
     ]),
    ("gazetteer",
     {"uprn": "BIGINT", "tenure": "VARCHAR", "classification_code": "VARCHAR",
      "lsoa_code": "VARCHAR"},
     [
         (H1, "Social rented (council)", "RD06", "E01000001"),
         (H2, "Owner occupied", "RD03", "E01000002"),
         (H3, "Private rented", "RD04", "E01000002"),
         (H5, "Social rented (housing association)", "RD06", "E01000003"),
     ]),
    ("lsoa_imd",
     {"lsoa_code": "VARCHAR", "ward_code": "VARCHAR", "imd_decile": "BIGINT"},
     [
         ("E01000001", "E05000001", 2),
         ("E01000002", "E05000002", 7),
         ("E01000003", "E05000002", 3),
     ]),
    ("deaths",
     {"nhs_pseudo": "VARCHAR", "date_of_death": TS},
     [("p_died", "2025-01-15"), ("p_renter", "2025-05-01")]),
    ("national_data_opt_outs", {"nhs_pseudo": "VARCHAR"}, [("p_optout",)]),
    ("epc_certificates",
     {"uprn": "BIGINT", "lodgement_date": TS, "lmk_key": "VARCHAR",
      "current_energy_rating": "VARCHAR", "current_energy_efficiency": "BIGINT",
      "total_floor_area": "DOUBLE", "mainheat_description": "VARCHAR",
      "construction_age_band": "VARCHAR", "number_habitable_rooms": "BIGINT",
      "property_type": "VARCHAR"},
     [
         (H1, "2012-05-01", "lmk-1", "F", 30, 40.0, "Boiler and radiators, mains gas",
          "England and Wales: 1967-1975", 2, "Flat"),
         (H1, "2020-07-01", "lmk-2", "D", 60, 45.0, "Electric storage heaters", None, 3,
          "Flat"),
         # lodged after the as-of date: must be ignored
         (H1, "2025-04-10", "lmk-3", "B", 85, 50.0, "Air source heat pump",
          "England and Wales: 2012 onwards", 4, "Flat"),
         (H3, "2019-02-01", "lmk-4", "C", 70, 80.0, "Boiler and radiators, mains gas",
          "England and Wales: 1900-1929", 5, "House"),
     ]),
    ("stock_condition_surveys",
     {"uprn": "BIGINT", "survey_date": TS, "survey_reference": "VARCHAR"},
     [
         (H1, "2019-06-01", "S0"),  # ~6 years before: outside the 5-year window
         (H1, "2023-03-15", "S1"),  # 2 years before: the latest in the window
         (H1, "2025-05-01", "S2"),  # after the as-of date
     ]),
    ("stock_condition_hazards",
     {"survey_reference": "VARCHAR", "hazard": "VARCHAR", "hazard_band": "VARCHAR"},
     [
         ("S0", "Falling on stairs etc", "A"),
         ("S1", "Damp and mould growth", "B"),
         ("S1", "Excess cold", "E"),
         ("S2", "Crowding and space", "A"),
     ]),
    ("private_sector_inspections",
     {"uprn": "BIGINT", "inspection_date": TS, "inspection_reference": "VARCHAR"},
     [(H3, "2024-01-10", "I1")]),
    ("private_sector_hazards",
     {"inspection_reference": "VARCHAR", "hazard": "VARCHAR", "hazard_band": "VARCHAR"},
     [("I1", "Excess cold", "C"), ("I1", "Falling on level surfaces", "G")]),
    ("damp_hazard_reports",
     {"uprn": "BIGINT", "date_reported": TS, "hazard_report_reference": "VARCHAR"},
     [
         (H1, "2024-02-20", "R0"),  # 13 months before: outside 12 months
         (H1, "2024-09-15", "R1"),
         (H1, "2025-01-10", "R2"),  # the latest before the cut-off
         (H1, "2025-03-31", "R3"),  # on the cut-off: not strictly before
         (H1, "2025-04-05", "R4"),  # after
     ]),
    ("damp_investigations",
     {"uprn": "BIGINT", "investigation_completed_date": TS, "investigation_reference": "VARCHAR",
      "hazard_confirmed": "BOOLEAN"},
     [
         (H1, "2023-12-01", "V0", True),  # confirmed but outside 12 months
         (H1, "2024-10-01", "V1", True),  # confirmed in the window
         (H1, "2025-02-01", "V2", False),  # not confirmed
         (H1, None, "V3", True),  # never completed
         (H1, "2025-04-02", "V4", True),  # completed after the as-of date
     ]),
    ("damp_work_orders",
     {"uprn": "BIGINT", "raised_date": TS, "completed_date": TS, "status": "VARCHAR",
      "work_order_reference": "VARCHAR"},
     [
         # raised 2 months before, completed after the as-of date: open on the date
         (H1, "2025-01-31", "2025-04-20", "Completed", "W1"),
         (H1, "2024-10-15", "2024-11-20", "Completed", "W2"),  # closed before
         (H1, "2024-11-01", None, "Cancelled", "W3"),
         (H1, "2025-04-01", None, "Open", "W4"),  # raised after
     ]),
    ("adaptations",
     {"uprn": "BIGINT", "completed_date": TS, "adaptation_reference": "VARCHAR",
      "adaptation_type": "VARCHAR"},
     [
         (H5, "2023-05-01", "A1", "Grab rails"),
         (H1, None, "A2", "Ramp"),  # requested, not fitted
         (H1, "2025-06-01", "A3", "Ramp"),  # fitted after
     ]),
    ("tenancies",
     {"tenancy_ref": "VARCHAR", "uprn": "BIGINT", "bedrooms": "BIGINT", "start_date": TS,
      "end_date": TS},
     [
         ("T1", H1, 1, "2015-01-01", None),
         ("T5", H5, 2, "2000-01-01", None),
         ("T0", H1, 3, "2005-01-01", "2014-12-31"),  # an earlier, ended tenancy of the flat
     ]),
    ("housing_residents",
     {"resident_id_pseudo": "VARCHAR", "tenancy_ref": "VARCHAR", "birth_year": "BIGINT",
      "birth_month": "BIGINT", "sex": "VARCHAR", "start_date": TS, "end_date": TS},
     [
         ("r_mum", "T1", 1989, 6, "F", "2015-01-01", None),
         ("r_girl", "T1", 2016, 6, "F", "2016-07-01", None),
         ("r_boy", "T1", 2012, 6, "M", "2015-01-01", None),
         ("r_lodger_left", "T1", 1990, 1, "M", "2015-01-01", "2024-06-30"),  # left before
         ("r_joins_later", "T1", 1995, 1, "F", "2025-04-10", None),  # joins after
         ("r_tenant", "T5", 1957, 6, "F", "2000-01-01", None),
         ("r_optout", "T5", 1955, 3, "M", "2000-01-01", None),
     ]),
    ("person_links",
     {"resident_id_pseudo": "VARCHAR", "nhs_pseudo": "VARCHAR"},
     [("r_mum", "p_mum"), ("r_girl", "p_girl"), ("r_boy", "p_boy"), ("r_tenant", "p_tenant"),
      ("r_optout", "p_optout")]),
    ("gp_long_term_conditions",
     {"nhs_pseudo": "VARCHAR", "condition": "VARCHAR", "diagnosis_date": TS},
     [("p_elder", "asthma", "2010-03-01"), ("p_elder", "copd", "2025-06-01")]),
    ("hes_apc",
     {"nhs_pseudo": "VARCHAR", "admidate": TS, "epikey": "BIGINT", "diag_4_01": "VARCHAR",
      "cause_4": "VARCHAR", "epiorder": "BIGINT", "admimeth": "VARCHAR"},
     [
         ("p_elder", "2025-03-01", 1, "R296", None, 1, "21"),  # 1 month before
         ("p_elder", "2024-10-15", 2, "J189", None, 1, "21"),  # 5.5 months, respiratory
         ("p_elder", "2024-10-15", 3, "J189", None, 2, "21"),  # 2nd episode, same spell
         ("p_elder", "2023-07-31", 4, "S720", "W19X", 1, "21"),  # 20 months, a fall
         ("p_elder", "2025-02-10", 5, "M179", None, 1, "11"),  # elective
         ("p_elder", "2025-04-02", 6, "J189", None, 1, "21"),  # after the as-of date
     ]),
    ("ecds_attendances",
     {"nhs_pseudo": "VARCHAR", "arrival_date": TS, "ec_ident": "BIGINT"},
     [
         ("p_elder", "2025-03-01", 11),
         ("p_elder", "2024-06-15", 12),
         ("p_elder", "2022-12-01", 13),  # before the 24-month window
         ("p_elder", "2025-04-01", 14),  # after
     ]),
]


def _true(value: object) -> bool:
    """A flag that is known and true (a null is neither true nor false)."""
    return not pd.isna(value) and bool(value)


def _false(value: object) -> bool:
    """A flag that is known and false."""
    return not pd.isna(value) and not bool(value)


def _warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name, columns, rows in _TABLES:
        con.execute(f"CREATE TABLE {name} ("
                    + ", ".join(f"{c} {t}" for c, t in columns.items()) + ")")
        marks = ", ".join(f"CAST(? AS {t})" for t in columns.values())
        con.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)
    return con


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def _snapshot(catalogue: Catalogue, lag_days: int = 0) -> pd.DataFrame:
    with _warehouse() as con:
        build_snapshot(con, catalogue, AS_OF, lag_days=lag_days)
        return con.table("snapshot").df().set_index("person_id")


@pytest.fixture(scope="module")
def snap(catalogue: Catalogue) -> pd.DataFrame:
    return _snapshot(catalogue)


def test_warehouse_types_match_the_warehouse() -> None:
    with _warehouse() as con:
        types = dict(con.execute(
            "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns"
        ).fetchall())
    assert types["hes_apc.admidate"] == "TIMESTAMP"
    assert types["gazetteer.uprn"] == "BIGINT"
    assert types["tenancies.bedrooms"] == "BIGINT"
    assert types["damp_investigations.hazard_confirmed"] == "BOOLEAN"


def test_population(snap: pd.DataFrame) -> None:
    # died before, deregistered before, registered only after and opted out are absent;
    # p_renter dies on 2025-05-01, after the as-of date, and is present
    assert sorted(snap.index) == ["p_boy", "p_elder", "p_girl", "p_mum", "p_nomatch",
                                  "p_renter", "p_tenant"]
    assert (snap["as_of"] == pd.Timestamp(AS_OF)).all()


def test_housing(snap: pd.DataFrame) -> None:
    mum = snap.loc["p_mum"]
    # home from the tenancy (priority 1), not the stale GP address at H3
    assert mum["tenure"] == "social rented (council)"
    assert mum["property_type"] == "flat or maisonette"
    # S1 (2023-03-15) is the latest survey within 5 years before the cut-off: damp band B is
    # Category 1, excess cold band E Category 2, no stairs finding (S0's is older than 5 years,
    # S2's crowding is after the as-of date)
    assert mum["hazard_damp_mould"] == "Category 1"
    assert mum["hazard_excess_cold"] == "Category 2"
    assert mum["hazard_falls_on_stairs"] == "none found"
    assert mum["hazard_falls_on_level"] == "none found"
    assert mum["hazard_crowding"] == "none found"
    assert mum["category_1_hazards"] == 1
    # R1 and R2 in [2024-03-31, 2025-03-31); R0 is 13 months old, R3 on the cut-off, R4 after
    assert mum["damp_reports_12m"] == 2
    # V1 only: V0 too old, V2 not confirmed, V3 not completed, V4 completed after
    assert mum["damp_confirmed_12m"] == 1
    # W1 completed after the as-of date so open on it; W3 cancelled but never completed: its
    # status is as of the extract (no date), so it counts as open; W2 closed, W4 raised later
    assert mum["damp_work_orders_open"] == 2
    # 2025-01-10 to 2025-03-31: 21 + 28 + 31 days
    assert mum["days_since_damp_report"] == 80
    # A2 not fitted, A3 fitted after the as-of date
    assert _false(mum["adaptation_fitted"])
    # lmk-2 (2020) is the latest before the as-of date; lmk-3 (band B) is lodged after it
    assert mum["epc_band"] == "D"
    assert mum["sap_score"] == 60.0
    assert mum["floor_area"] == 45.0
    assert mum["main_heating"] == "electric storage heaters"
    # lmk-2 records no construction age band: the latest that records one is lmk-1
    assert mum["building_age"] == "1967-1990"
    # the tenancy's 1 bedroom wins over the EPC estimate (3 habitable rooms - 1 for a flat)
    assert mum["bedrooms"] == 1
    # 45 m² / 3 people
    assert mum["floor_area_per_person"] == 15.0
    # needed 3 (see test_household) - 1 bedroom
    assert mum["bedroom_shortfall"] == 2
    assert _true(mum["overcrowded"])
    # the children share every home feature of their mother
    for child in ("p_girl", "p_boy"):
        assert snap.loc[child, "epc_band"] == "D"
        assert snap.loc[child, "damp_reports_12m"] == 2

    elder = snap.loc["p_elder"]
    # owner occupied, no EPC, never assessed: not known, never zero
    assert elder["tenure"] == "owner occupied"
    assert elder["property_type"] == "semi-detached house"
    for name in ("hazard_damp_mould", "hazard_excess_cold", "hazard_falls_on_stairs",
                 "hazard_falls_on_level", "hazard_crowding", "epc_band", "main_heating",
                 "building_age"):
        assert elder[name] == "not known", name
    # damp records cover social homes only: null, not 0
    for name in ("damp_reports_12m", "damp_confirmed_12m", "damp_work_orders_open",
                 "days_since_damp_report", "adaptation_fitted", "category_1_hazards",
                 "sap_score", "floor_area", "bedrooms", "floor_area_per_person",
                 "bedroom_shortfall", "overcrowded"):
        assert pd.isna(elder[name]), name

    renter = snap.loc["p_renter"]
    # private-sector inspection I1: excess cold band C (Category 1), level falls band G
    assert renter["tenure"] == "private rented"
    assert renter["property_type"] == "terraced house"
    assert renter["hazard_excess_cold"] == "Category 1"
    assert renter["hazard_falls_on_level"] == "Category 2"
    assert renter["hazard_damp_mould"] == "none found"
    assert renter["category_1_hazards"] == 1
    assert pd.isna(renter["damp_reports_12m"])
    assert renter["epc_band"] == "C"
    assert renter["building_age"] == "before 1930"
    assert renter["main_heating"] == "mains gas boiler"
    # no tenancy: 5 habitable rooms - 2 for a house
    assert renter["bedrooms"] == 3
    assert renter["bedroom_shortfall"] == 0
    assert _false(renter["overcrowded"])

    tenant = snap.loc["p_tenant"]
    # a social home with no damp rows: 0 / false, and days since not known
    assert tenant["tenure"] == "social rented (housing association)"
    assert tenant["damp_reports_12m"] == 0
    assert tenant["damp_confirmed_12m"] == 0
    assert tenant["damp_work_orders_open"] == 0
    assert pd.isna(tenant["days_since_damp_report"])
    assert _true(tenant["adaptation_fitted"])  # grab rails fitted 2023-05-01
    assert tenant["hazard_damp_mould"] == "not known"  # never surveyed
    assert tenant["epc_band"] == "not known"
    assert tenant["bedrooms"] == 2
    assert tenant["bedroom_shortfall"] == 0

    nomatch = snap.loc["p_nomatch"]
    assert nomatch["tenure"] == "not known"
    assert nomatch["property_type"] == "not known"
    assert nomatch["hazard_damp_mould"] == "not known"
    assert nomatch["epc_band"] == "not known"
    for name in ("damp_reports_12m", "bedrooms", "bedroom_shortfall", "overcrowded"):
        assert pd.isna(nomatch[name]), name


def test_health(snap: pd.DataFrame) -> None:
    elder = snap.loc["p_elder"]
    # asthma diagnosed 2010; COPD only after the as-of date
    assert _true(elder["asthma"])
    assert _false(elder["copd"])
    assert _false(elder["cvd"])
    assert elder["long_term_conditions"] == 1
    # emergency first episodes: 2025-03-01 (3m), 2024-10-15 (12m), 2023-07-31 (24m); the 2nd
    # episode, the elective and the admission after the as-of date do not count
    assert elder["emergency_admissions_3m"] == 1
    assert elder["emergency_admissions_12m"] == 2
    assert elder["emergency_admissions_24m"] == 3
    assert elder["respiratory_admissions_24m"] == 1  # J189 on 2024-10-15, once
    assert elder["fall_admissions_24m"] == 1  # W19X on 2023-07-31
    # 2025-03-01 to 2025-03-31
    assert elder["days_since_emergency_admission"] == 30
    # A&E: 2025-03-01 (3m), 2024-06-15 (12m); 2022-12-01 is older than 24 months
    assert elder["ae_attendances_3m"] == 1
    assert elder["ae_attendances_12m"] == 2
    assert elder["ae_attendances_24m"] == 2

    girl = snap.loc["p_girl"]  # no health rows at all: none recorded
    for name in ("asthma", "copd", "cvd", "diabetes", "dementia", "smi", "frailty"):
        assert _false(girl[name]), name
    for name in ("long_term_conditions", "emergency_admissions_3m", "emergency_admissions_12m",
                 "emergency_admissions_24m", "respiratory_admissions_24m",
                 "fall_admissions_24m", "ae_attendances_3m", "ae_attendances_12m",
                 "ae_attendances_24m"):
        assert girl[name] == 0, name
    assert pd.isna(girl["days_since_emergency_admission"])


def test_demographic(snap: pd.DataFrame) -> None:
    # age = floor((12*2025 + 3 - (12*birth_year + birth_month)) / 12)
    expected = {
        "p_mum": (35, "16-39", "female", "Black"),  # 1989-06: 429 months
        "p_girl": (8, "5-15", "female", "Black"),  # 2016-06: 105 months
        "p_boy": (12, "5-15", "male", "Black"),  # 2012-06: 153 months
        "p_elder": (70, "65-74", "male", "White"),  # 1954-06: 849 months
        "p_renter": (45, "40-64", "female", "Asian"),  # 1979-06: 549 months
        "p_nomatch": (30, "16-39", "not known", "not known"),  # 1994-06: 369 months
        "p_tenant": (67, "65-74", "female", "Not stated"),  # 1957-06: 813 months
    }
    for person, (age, band, sex, ethnic) in expected.items():
        row = snap.loc[person]
        assert row["age_years"] == age, person
        assert row["age_band"] == band, person
        assert row["sex"] == sex, person
        assert row["ethnic_group"] == ethnic, person


def test_area(snap: pd.DataFrame) -> None:
    # decile 2 -> quintile ceil(2/2) = 1, Core20
    mum = snap.loc["p_mum"]
    assert mum["imd_decile"] == 2
    assert mum["imd_quintile"] == 1
    assert _true(mum["core20"])
    # decile 7 -> quintile ceil(3.5) = 4, not Core20
    elder = snap.loc["p_elder"]
    assert elder["imd_decile"] == 7
    assert elder["imd_quintile"] == 4
    assert _false(elder["core20"])
    # decile 3 -> quintile 2, just outside the Core20
    tenant = snap.loc["p_tenant"]
    assert tenant["imd_decile"] == 3
    assert tenant["imd_quintile"] == 2
    assert _false(tenant["core20"])
    # unmatched address: no LSOA, nothing known
    nomatch = snap.loc["p_nomatch"]
    for name in ("imd_decile", "imd_quintile", "core20"):
        assert pd.isna(nomatch[name]), name


def test_household(snap: pd.DataFrame) -> None:
    mum = snap.loc["p_mum"]
    # p_mum, p_girl, p_boy; the lodger left 2024-06-30 and r_joins_later arrives after
    assert mum["household_size"] == 3
    assert mum["children_in_home"] == 2
    # bedroom standard: 1 adult 21+ -> 1; boy of 12 alone in 10-20 -> 1; girl of 8 -> 1
    assert mum["bedrooms_needed"] == 3
    assert _false(mum["living_alone_65_plus"])
    for child in ("p_girl", "p_boy"):
        assert snap.loc[child, "household_size"] == 3
        assert snap.loc[child, "bedrooms_needed"] == 3

    elder = snap.loc["p_elder"]
    # his wife died before the as-of date: he lives alone at 70
    assert elder["household_size"] == 1
    assert elder["children_in_home"] == 0
    assert elder["bedrooms_needed"] == 1
    assert _true(elder["living_alone_65_plus"])

    # p_mum's stale GP address at H3 does not make her a member of p_renter's household, and
    # p_moved (deregistered) left it
    assert snap.loc["p_renter", "household_size"] == 1

    tenant = snap.loc["p_tenant"]
    # p_optout opted out of data sharing but is a member of tenancy T5: 2 people, two adults
    # 21+ taken as a couple -> 1 bedroom needed; so she does not live alone
    assert tenant["household_size"] == 2
    assert tenant["bedrooms_needed"] == 1
    assert _false(tenant["living_alone_65_plus"])

    nomatch = snap.loc["p_nomatch"]
    for name in ("household_size", "children_in_home", "bedrooms_needed"):
        assert pd.isna(nomatch[name]), name
    # aged 30: not 65+ whatever the household, so false rather than not known
    assert _false(nomatch["living_alone_65_plus"])


def test_recording_lag(catalogue: Catalogue) -> None:
    lagged = _snapshot(catalogue, lag_days=60)
    elder = lagged.loc["p_elder"]
    # cut-off 2025-01-30: the 2025-03-01 admission is not yet recorded; the 3-month window
    # [2024-10-30, 2025-01-30) holds none, 12 months holds 2024-10-15 only
    assert elder["emergency_admissions_3m"] == 0
    assert elder["emergency_admissions_12m"] == 1
    assert elder["emergency_admissions_24m"] == 2
    # 2024-10-15 to 2025-01-30: 16 + 30 + 31 + 30 days
    assert elder["days_since_emergency_admission"] == 107
    assert elder["ae_attendances_3m"] == 0
    # the snapshot is still labelled with the as-of date, not the cut-off
    assert (lagged["as_of"] == pd.Timestamp(AS_OF)).all()


def test_snapshot_sql_uses_only_the_cutoff(catalogue: Catalogue) -> None:
    setup, final = snapshot_sql(catalogue, AS_OF, lag_days=10)
    # with a 10-day lag the cut-off is 2025-03-21; the as-of date appears only as the label
    assert all("2025-03-31" not in sql for sql in setup)
    assert any("DATE '2025-03-21'" in sql for sql in setup)
    assert final.count("2025-03-31") == 1
    assert "DATE '2025-03-31' AS as_of" in final


def test_bedroom_standard_pairs_a_lone_teenager_with_a_same_sex_child(
        catalogue: Catalogue) -> None:
    # make the 12-year-old a girl: adult -> 1; girls of 12 and 8 share -> 1; needed 2, not 3
    with _warehouse() as con:
        con.execute("UPDATE gp_registrations SET sex = 'F' WHERE nhs_pseudo = 'p_boy'")
        build_snapshot(con, catalogue, AS_OF)
        snap = con.table("snapshot").df().set_index("person_id")
    assert snap.loc["p_mum", "bedrooms_needed"] == 2
    assert snap.loc["p_mum", "bedroom_shortfall"] == 1
