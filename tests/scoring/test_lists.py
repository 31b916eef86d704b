"""Ranks, bands, capacity, movement and patches on made-up frames (fast)."""

from __future__ import annotations

import pandas as pd
import pytest

from risk_model.config import Patches, Settings, validated
from risk_model.errors import ConfigError
from risk_model.scoring.lists import movement, rank, select
from risk_model.scoring.patches import NO_PATCH, assign_patches


def _scored(n: int = 10) -> pd.DataFrame:
    return pd.DataFrame({
        "person_id": [f"p{i:02d}" for i in range(n)],
        "patch": ["A" if i % 2 == 0 else "B" for i in range(n)],
        "risk": [0.9 - 0.05 * i for i in range(n)],
        "priority": [0.9 - 0.05 * i for i in range(n)],
        "held_back": [False] * n,
    })


def test_ranks_break_ties_by_pseudonym_and_bands_follow_risk_shares() -> None:
    scored = _scored(10)
    scored.loc[[2, 3], "priority"] = 0.5  # a tie: p02 before p03, always
    ranked = rank(scored.iloc[::-1], {"very high": 0.1, "high": 0.3})
    by = ranked.set_index("person_id")
    assert by.loc["p02", "rank_overall"] + 1 == by.loc["p03", "rank_overall"]
    assert by.loc["p00", "risk_band"] == "very high"
    assert by.loc[["p01", "p02"], "risk_band"].tolist() == ["high", "high"]
    assert by.loc["p09", "risk_band"] == "low"
    assert by.loc["p00", "rank_in_patch"] == 1 and by.loc["p01", "rank_in_patch"] == 1


def test_lists_skip_held_back_residents_and_residents_in_no_patch() -> None:
    scored = _scored(10)
    scored.loc[0, "held_back"] = True
    scored.loc[1, "patch"] = NO_PATCH
    listed = select(rank(scored, {}), {"A": 2, "B": 3})
    assert listed[listed["patch"] == "A"]["person_id"].tolist() == ["p02", "p04"]
    assert listed[listed["patch"] == "B"]["person_id"].tolist() == ["p03", "p05", "p07"]
    assert listed["position"].tolist() == [1, 2, 1, 2, 3]


def _status(rows: dict[str, dict]) -> pd.DataFrame:
    base = {"died": False, "opted_out": False, "scored": True, "patch": "A",
            "home_known": True, "held_back_action": None, "rank_in_patch": 9}
    return pd.DataFrame([{**base, **v} for v in rows.values()], index=list(rows))


def test_movement_names_every_kind_and_every_reason_for_leaving() -> None:
    previous = pd.DataFrame({"person_id": ["up", "down", "same", "d", "o", "m", "h", "x", "q",
                                           "b"],
                             "patch": ["A"] * 10, "position": [3, 1, 2, 4, 5, 6, 7, 8, 9, 10]})
    listed = pd.DataFrame({"person_id": ["up", "same", "down", "new", "b"],
                           "patch": ["A", "A", "A", "A", "B"], "position": [1, 2, 3, 4, 1]})
    status = _status({"d": {"died": True}, "o": {"opted_out": True}, "m": {"scored": False},
                      "h": {"held_back_action": "visit_booked"}, "x": {"rank_in_patch": 12},
                      "q": {"patch": NO_PATCH, "home_known": False}, "b": {"patch": "B"}})
    out, leavers = movement(listed, previous, status, {"A": 4, "B": 1})
    assert out["movement"].tolist() == ["up", "same", "down", "new", "new"]
    assert out["previous_position"].tolist()[:3] == [3, 2, 1]
    assert out["movement_note"].tolist()[0] == "up 2 places since last month"
    assert out["movement_note"].tolist()[4] == "new here: was on the list of A"
    why = leavers.set_index("person_id")["why"].to_dict()
    assert why == {"d": "died", "o": "opted_out", "m": "moved_away", "h": "held_back",
                   "x": "outranked", "q": "no_home"}
    text = leavers.set_index("person_id")["why_text"]
    assert text["x"].endswith("(now 12 in the patch; the list holds 4)")
    assert text["h"].endswith("(visit_booked)")


def test_the_first_month_has_everyone_new_and_nobody_leaving() -> None:
    listed = pd.DataFrame({"person_id": ["a"], "patch": ["A"], "position": [1]})
    out, leavers = movement(listed, None, _status({}), {"A": 1})
    assert out["movement"].tolist() == ["new"] and leavers.empty


def _people() -> pd.DataFrame:
    return pd.DataFrame({"ward_code": ["W1", "W1", "W2", None, "W2", "W3"],
                         "ward_name": ["North", "North", "South", None, "South", "North"],
                         "lsoa_code": ["L1", "L2", "L3", None, "L4", "L5"],
                         "landlord": [None, "HA", None, "HA", None, None]})


def test_landlord_patches_come_first_then_areas_then_wards() -> None:
    patches = Patches.model_validate({"named": [
        {"name": "East", "lsoas": ["L4"], "capacity": 3},
        {"name": "HA team", "landlords": ["HA"]}]})
    patch, capacity = assign_patches(_people(), patches)
    # two wards named North are told apart by their codes; the unmatched home is in no patch
    assert patch.tolist() == ["North (W1)", "HA team", "South", "HA team", "East",
                              "North (W3)"]
    assert capacity == {"East": 3, "HA team": 25, "North (W1)": 25, "South": 25,
                        "North (W3)": 25}
    none, _ = assign_patches(_people(), Patches.model_validate(
        {"named": [{"name": "HA team", "landlords": ["HA"]}], "others": "none"}))
    assert none.tolist() == [NO_PATCH, "HA team", NO_PATCH, "HA team", NO_PATCH, NO_PATCH]


def test_a_ward_patch_may_not_take_a_named_patchs_name() -> None:
    patches = Patches.model_validate({"named": [{"name": "South", "lsoas": ["L1"]}]})
    with pytest.raises(ConfigError, match="ward 'South' has the name of a named patch"):
        assign_patches(_people(), patches)


@pytest.mark.parametrize(("settings", "message"), [
    ({"scoring": {"bands": {"a": 0.5, "b": 0.1}}}, "bands must be top shares"),
    ({"scoring": {"hold_back_actions": ["phoned"]}}, "unknown action(s) 'phoned'"),
    ({"scoring": {"drift_warn": 0.3}}, "drift_warn must be above 0 and at most drift_thresh"),
    ({"patches": {"default_capacity": -1}}, "must be a whole number of at least 0, got -1"),
    ({"patches": {"named": [{"name": "A"}, {"name": "A"}]}}, "repeated: A"),
    ({"patches": {"others": "lsoa"}}, "'ward' or 'none'"),
    ({"patches": {"named": [{"name": "A", "team": "x"}]}}, "unknown key 'team'"),
])
def test_bad_settings_name_the_key_and_the_problem(settings: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=r"^settings\.yaml: ") as info:
        validated(Settings, settings, "settings.yaml")
    assert message in str(info.value)
