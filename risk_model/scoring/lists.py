"""Lists: ranks, bands, each patch's list up to its capacity, and movement since last month.

Everything here works on plain frames so it can be tested without a model:

- :func:`rank` orders the scored residents by priority (ties broken by pseudonym, so the same
  month always gives the same order), overall and within each patch, and gives each a risk
  band from the top shares of the population;
- :func:`select` makes each patch's list: its residents in priority order, leaving out those
  held back (recently helped, as the review app recorded), up to the patch's capacity;
- :func:`movement` compares the lists with the previous month's: who is new, who moved up or
  down, and who left and why (died, opted out, moved away, home no longer known, moved to
  another patch, held back after an action, or others ranked higher).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from risk_model.scoring.patches import NO_PATCH

__all__ = ["LEFT_WHY", "LOW_BAND", "MOVEMENTS", "movement", "rank", "select"]

#: The band of everyone below the last configured share.
LOW_BAND = "low"

#: What a listed resident's movement can be.
MOVEMENTS = ("new", "up", "down", "same")

#: Why someone left a list, in plain English (a key is stored, the text is shown).
LEFT_WHY: dict[str, str] = {
    "died": "died",
    "opted_out": "opted out of data sharing",
    "moved_away": "no longer registered with a GP in the area",
    "no_home": "their home is no longer known",
    "moved_patch": "moved to another patch's area",
    "no_patch": "their home is in no patch's area",
    "held_back": "held back after an action in the review app",
    "outranked": "others ranked higher this month",
}


def rank(scored: pd.DataFrame, bands: Mapping[str, float]) -> pd.DataFrame:
    """Add ``rank_overall``, ``rank_in_patch`` and ``risk_band`` to scored residents.

    Parameters
    ----------
    scored : pandas.DataFrame
        ``person_id``, ``patch``, ``risk`` and ``priority``, one row per resident.
    bands : mapping of str to float
        Band name to the top share of residents (by risk) it holds, highest band first.

    Returns
    -------
    pandas.DataFrame
        A copy with the three columns; ``rank_in_patch`` is null for residents in no patch.
    """
    out = scored.copy()
    order = np.lexsort((out["person_id"].to_numpy(), -out["priority"].to_numpy()))
    ranks = np.empty(len(out), dtype=np.int64)
    ranks[order] = np.arange(1, len(out) + 1)
    out["rank_overall"] = ranks
    in_patch = out["patch"] != NO_PATCH
    by_patch = out.loc[in_patch].sort_values("rank_overall").groupby("patch").cumcount() + 1
    out["rank_in_patch"] = pd.array(pd.Series(pd.NA, index=out.index, dtype="Int64"))
    out.loc[by_patch.index, "rank_in_patch"] = by_patch.astype("Int64")
    # bands by risk (not priority): how likely the outcome is, whatever the ordering
    risk_order = np.lexsort((out["person_id"].to_numpy(), -out["risk"].to_numpy()))
    risk_rank = np.empty(len(out), dtype=np.int64)
    risk_rank[risk_order] = np.arange(1, len(out) + 1)
    band = np.full(len(out), LOW_BAND, dtype=object)
    for name, share in reversed(list(bands.items())):
        band[risk_rank <= int(np.ceil(share * len(out)))] = name
    out["risk_band"] = band
    return out


def select(ranked: pd.DataFrame, capacity: Mapping[str, int]) -> pd.DataFrame:
    """Return each patch's list: its residents in priority order, up to its capacity.

    Parameters
    ----------
    ranked : pandas.DataFrame
        From :func:`rank`, with a boolean ``held_back``.
    capacity : mapping of str to int
        Each patch's monthly capacity.

    Returns
    -------
    pandas.DataFrame
        The listed rows, ordered by patch then ``position`` (1 is first on the list).
    """
    eligible = ranked[(ranked["patch"] != NO_PATCH) & ~ranked["held_back"].astype(bool)]
    ordered = eligible.sort_values(["patch", "rank_overall"])
    position = ordered.groupby("patch").cumcount() + 1
    limit = ordered["patch"].map(capacity).fillna(0).astype(int)
    listed = ordered.assign(position=position)[position <= limit]
    return listed.reset_index(drop=True)


def movement(listed: pd.DataFrame, previous: pd.DataFrame | None, status: pd.DataFrame,
             capacity: Mapping[str, int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compare this month's lists with the previous month's.

    Parameters
    ----------
    listed : pandas.DataFrame
        This month's lists (``person_id``, ``patch``, ``position``).
    previous : pandas.DataFrame or None
        The previous month's lists (``person_id``, ``patch``, ``position``); ``None`` if this
        is the first month.
    status : pandas.DataFrame
        Indexed by ``person_id``, for at least everyone on the previous lists: ``died``,
        ``opted_out``, ``scored`` (in this month's population), ``patch`` (this month's;
        :data:`NO_PATCH` if none), ``home_known``, ``held_back_action`` (null if not held
        back) and ``rank_in_patch``.
    capacity : mapping of str to int
        This month's capacity of each patch.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        ``listed`` with ``movement`` (one of :data:`MOVEMENTS`), ``previous_position`` (in the
        same patch, null if new) and ``movement_note`` (plain English); and the leavers:
        ``person_id``, ``patch``, ``previous_position``, ``why`` (a key of :data:`LEFT_WHY`)
        and ``why_text``.
    """
    out = listed.copy()
    leavers_columns = ["person_id", "patch", "previous_position", "why", "why_text"]
    if previous is None or previous.empty:
        out["movement"] = "new"
        out["previous_position"] = pd.array([pd.NA] * len(out), dtype="Int64")
        out["movement_note"] = "new on the list this month" if previous is None else \
            "new on the list (the previous month's list was empty)"
        return out, pd.DataFrame(columns=leavers_columns)
    before = previous.set_index("person_id")
    prev_patch = out["person_id"].map(before["patch"])
    prev_pos = out["person_id"].map(before["position"])
    same = prev_patch.eq(out["patch"]).fillna(False).to_numpy(dtype=bool)
    out["previous_position"] = pd.array(np.where(same, prev_pos, np.nan), dtype="Float64") \
        .astype("Int64")
    delta = np.where(same, prev_pos.fillna(0).to_numpy() - out["position"].to_numpy(), 0)
    kind = np.where(~same, "new", np.where(delta > 0, "up", np.where(delta < 0, "down",
                                                                      "same")))
    out["movement"] = kind
    notes = []
    for k, d, was in zip(kind, delta, prev_patch.tolist(), strict=True):
        if k == "new":
            notes.append(f"new here: was on the list of {was}" if isinstance(was, str)
                         else "new on the list this month")
        elif k == "same":
            notes.append("same place as last month")
        else:
            n = abs(int(d))
            notes.append(f"{k} {n} place{'s' if n != 1 else ''} since last month")
    out["movement_note"] = notes

    gone = previous[~previous["person_id"].isin(out["person_id"])]
    rows = []
    for person, patch, position in zip(gone["person_id"], gone["patch"], gone["position"],
                                       strict=True):
        s = status.loc[person] if person in status.index else None
        why = _why(s, patch)
        text = LEFT_WHY[why]
        if why == "outranked" and s is not None and pd.notna(s["rank_in_patch"]):
            text += (f" (now {int(s['rank_in_patch'])} in the patch; the list holds "
                     f"{capacity.get(patch, 0)})")
        elif why == "held_back" and s is not None:
            text += f" ({s['held_back_action']})"
        rows.append({"person_id": person, "patch": patch, "previous_position": int(position),
                     "why": why, "why_text": text})
    return out, pd.DataFrame(rows, columns=leavers_columns)


def _why(s: pd.Series | None, patch: str) -> str:
    """Why a person on last month's list of ``patch`` is not on this month's."""
    if s is None:
        return "moved_away"
    if bool(s["died"]):
        return "died"
    if bool(s["opted_out"]):
        return "opted_out"
    if not bool(s["scored"]):
        return "moved_away"
    if not bool(s["home_known"]):
        return "no_home"
    if s["patch"] == NO_PATCH:
        return "no_patch"
    if s["patch"] != patch:
        return "moved_patch"
    if pd.notna(s["held_back_action"]):
        return "held_back"
    return "outranked"
