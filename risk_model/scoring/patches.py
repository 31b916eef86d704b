"""Patches: which team's list each resident belongs to, and how many each team can help.

A patch is a ward or a team's area (``patches:`` in the workspace's ``settings.yaml``,
:class:`risk_model.config.Patches`). A resident belongs to the first named patch that names
their social landlord (a landlord's own team looks after its tenants wherever they live), else
the first that names their home's ward or LSOA, else (with ``others: ward``, the default) to the
patch of their ward, named after it. A resident whose home is not known (no matched address)
belongs to no patch and is on no list: they are still scored, and counted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from risk_model.config import Patches
from risk_model.errors import ConfigError

__all__ = ["NO_PATCH", "assign_patches"]

#: The patch of a resident on no list.
NO_PATCH = ""


def _ward_names(people: pd.DataFrame) -> pd.Series:
    """A readable, unique name per ward code: its name, with the code where names repeat."""
    wards = people[["ward_code", "ward_name"]].dropna(subset=["ward_code"]).drop_duplicates(
        "ward_code")
    name = wards["ward_name"].fillna(wards["ward_code"]).astype(str)
    repeated = name.duplicated(keep=False)
    name = name.where(~repeated, name + " (" + wards["ward_code"].astype(str) + ")")
    return pd.Series(name.to_numpy(), index=wards["ward_code"].to_numpy())


def assign_patches(people: pd.DataFrame, patches: Patches) -> tuple[pd.Series, dict[str, int]]:
    """Give each resident a patch and each patch its monthly capacity.

    Parameters
    ----------
    people : pandas.DataFrame
        One row per resident with ``ward_code``, ``ward_name``, ``lsoa_code`` and ``landlord``
        (null where not known or not a social tenant).
    patches : Patches
        The settings.

    Returns
    -------
    (pandas.Series, dict of str to int)
        The patch name of each row (:data:`NO_PATCH` for none), same index; and the capacity
        of every patch that has a resident, plus every named patch.
    """
    patch = pd.Series(NO_PATCH, index=people.index, dtype=object)
    unassigned = np.ones(len(people), dtype=bool)
    landlord = people["landlord"].astype(object).to_numpy()
    ward = people["ward_code"].astype(object).to_numpy()
    lsoa = people["lsoa_code"].astype(object).to_numpy()
    capacity: dict[str, int] = {}
    for p in patches.named:  # landlords first, across all patches: their teams come first
        capacity[p.name] = patches.capacity_of(p)
        if p.landlords:
            hit = unassigned & np.isin(landlord, list(p.landlords))
            patch[hit] = p.name
            unassigned &= ~hit
    for p in patches.named:
        if p.wards or p.lsoas:
            hit = unassigned & (np.isin(ward, list(p.wards)) | np.isin(lsoa, list(p.lsoas)))
            patch[hit] = p.name
            unassigned &= ~hit
    if patches.others == "ward":
        names = _ward_names(people)
        known = unassigned & pd.notna(ward)
        patch[known] = names.reindex(ward[known]).to_numpy()
        for name in pd.unique(names.reindex(pd.unique(ward[known])).to_numpy()):
            if name in capacity:  # a named patch with the name of a ward: keep both apart
                raise ConfigError(f"the patch of ward {name!r} has the name of a named patch",
                                  hint="rename the named patch in settings.yaml (patches:)")
            capacity[str(name)] = patches.default_capacity
    return patch, capacity
