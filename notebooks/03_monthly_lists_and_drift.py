# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · Review a month's lists and drift
#
# Each month `risk-model score --month YYYY-MM` scores everyone in the area with the champion
# model and gives each patch (a housing team) a prioritised list up to its capacity. Before the
# lists go out, an analyst checks them. This notebook reads what the run wrote:
#
# 1. **The run**: which model version scored which month, and whether the lists can be trusted.
# 2. **Everyone scored**: how the risk is spread, and how many residents are in each band.
# 3. **The lists**: per patch, how full each list is, who was held back after a recent action,
#    and the reasons officers will read (counted, not shown person by person).
# 4. **Movement**: how each list changed since the previous month scored.
# 5. **Leavers**: why residents who were on last month's list are not on this one.
# 6. **Drift**: whether this month's residents still look like the people the model was trained
#    on (population stability index per feature and for the score).
# 7. **The published summary**: the month's `summary.json`, as it would be shared.
#
# It only reads: the scores and lists are in the warehouse tables `scores`, `lists`,
# `list_leavers` and `scoring_runs`, and in `lists/YYYY-MM/` (`summary.json`, `drift.json`,
# one Parquet and CSV file per patch). Every count follows the small-number rule, and no
# identifier (pseudonym, tenancy reference, UPRN) is shown: an analyst who needs a person's
# record reads the warehouse directly. It uses the workspace named by `RISK_MODEL_WORKSPACE`,
# else `./workspace`; run it after `risk-model demo`, which scores the last two months.

# %%
# %matplotlib inline
import json

import duckdb
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from risk_model.config import Workspace, default_workspace_path
from risk_model.disclosure import rule_for, suppress_count, suppress_counts
from risk_model.errors import WorkspaceError
from risk_model.scoring.charts import drift_figures
from risk_model.scoring.lists import LEFT_WHY, LOW_BAND, MOVEMENTS
from risk_model.scoring.patches import NO_PATCH
from risk_model.tracking import load_pyfunc

# %% tags=["parameters"]
MONTH = None  # "YYYY-MM"; None reviews the latest month scored

# %%
ws = Workspace.at(default_workspace_path())
if not ws.warehouse.exists():
    raise WorkspaceError(f"no warehouse in {ws.root}",
                         hint="run `risk-model demo` first, and start Jupyter with "
                              "RISK_MODEL_WORKSPACE set to the workspace folder (a notebook "
                              "runs in its own folder, where ./workspace is not the "
                              "CLI's)")
rule = rule_for(ws)


def query(sql: str, *params: object) -> pd.DataFrame:
    """Run one read-only query on the workspace's warehouse."""
    with duckdb.connect(str(ws.warehouse), read_only=True) as con:
        return con.execute(sql, list(params)).df()


def shown(value: object) -> object:
    """A count as it may be shown: figures already suppressed (``*``) stay as they are."""
    return value if isinstance(value, str) else suppress_count(value, rule)


runs = query("SELECT month, model, model_version, alias, as_of, trusted, summary "
             "FROM scoring_runs ORDER BY month")
if runs.empty:
    raise WorkspaceError(f"no month has been scored in {ws.root}",
                         hint="run `risk-model score --month YYYY-MM` first")
month = MONTH or runs["month"].iloc[-1]
if month not in set(runs["month"]):
    raise WorkspaceError(f"{month} has not been scored in {ws.root}",
                         hint="scored months: " + ", ".join(runs["month"]))
run = runs.set_index("month").loc[month]
summary = json.loads(run["summary"])
previous = summary["previous_month"]
display(Markdown(f"**Workspace:** `{ws.root}`  \n**Month:** {month}  \n"
                 f"**Small numbers:** {rule.describe()}"))

# %% [markdown]
# ## 1. The run
#
# The model version that holds the alias (normally `champion`) scored everyone in the
# population on the last day of the month, using only events dated before it. The run compared
# the month with the model's training population and said whether the lists can be trusted.

# %%
display(pd.Series({
    "model": f"{run['model']} version {run['model_version']} (alias {run['alias']})",
    "as of": f"{run['as_of']:%Y-%m-%d}",
    "lists ordered by": summary["priority"]["rank_by"],
    "compared with": previous or "no earlier month scored",
    "trusted": {True: "yes", False: "check first"}.get(run["trusted"], "drift not checked"),
}, name=month).to_frame())
display(Markdown(f"> {summary['drift']['summary']}"))

# %% [markdown]
# ## 2. Everyone scored
#
# The risk is the calibrated probability of the model's outcome within its window. Bands are
# set by the risk's place in the scored population (by default the top 1% "very high", the
# next 4% "high", the next 15% "raised"), so their sizes are fixed shares; what matters is the
# risk each band starts at.

# %%
scores = query("SELECT patch, risk, risk_band, attributable_risk, on_list, "
               "held_back_action IS NOT NULL AS held_back FROM scores WHERE month = ?", month)
order = [*summary["bands"], LOW_BAND]
bands = scores.groupby("risk_band")["risk"].agg(residents="size", risk_from="min")
bands = bands.reindex([b for b in order if b in bands.index])
bands["residents"] = suppress_counts(bands["residents"], rule)
display(bands.round(4))
quantiles = scores["risk"].quantile([0.5, 0.8, 0.95, 0.99]).round(4)
display(quantiles.rename(lambda q: f"{q:.0%} of residents below").rename("risk").to_frame().T)

# %% [markdown]
# ## 3. The lists
#
# Each patch's list holds its residents in priority order, up to the patch's capacity,
# leaving out anyone an officer recorded an action for in the hold-back window. Residents whose
# home is not known are scored but in no patch, so on no list.

# %%
capacity = {p["patch"]: p["capacity"] for p in summary["patches"]}
patches = scores.assign(patch=scores["patch"].replace(NO_PATCH, "(no patch: home not known)"))
per_patch = patches.groupby("patch").agg(residents=("risk", "size"), listed=("on_list", "sum"),
                                         held_back=("held_back", "sum"))
for column in per_patch:
    per_patch[column] = suppress_counts(per_patch[column].astype(int), rule)
per_patch.insert(0, "capacity", per_patch.index.map(lambda p: capacity.get(p, "")))
display(per_patch)

# %% [markdown]
# What the officers will read: each listed resident comes with up to three plain-English
# reasons. Officers see housing reasons in detail and health only as a broad category, never a
# diagnosis. Below, how many listed residents have each reason (a reason naming a person's own
# values, such as an exact count, is counted as it is written).

# %%
listed = query("SELECT patch, position, risk_band, attributable_risk, movement, "
               "reasons_officer FROM lists WHERE month = ?", month)
reasons = listed["reasons_officer"].explode().dropna()
display(suppress_counts(reasons.value_counts().rename("listed residents"), rule).to_frame())

# %% [markdown]
# The housing-attributable risk is the risk minus the risk with every modifiable housing
# feature put right (no damp, no hazard, a better EPC band). It is an association in the data,
# not a measured effect of a repair, but it shows how much of the listed residents' risk the
# housing teams could reach: per patch, its mean over the list, and how many listed residents
# have at least one percentage point of their risk attributed to their home.

# %%
reachable = listed.assign(reachable=listed["attributable_risk"] >= 0.01).groupby("patch").agg(
    mean_attributable_risk=("attributable_risk", "mean"), listed=("position", "size"),
    at_least_1_point=("reachable", "sum"))
for column in ("listed", "at_least_1_point"):
    reachable[column] = suppress_counts(reachable[column].astype(int), rule)
display(reachable.round({"mean_attributable_risk": 4}))

# %% [markdown]
# ## 4. Movement since the previous month
#
# Each listed resident is marked `new` (not on this patch's list last month), `up`, `down` or
# `same` against their previous place. A list that is mostly new every month is hard for a
# team to work through; one that never changes may mean the team's actions are not recorded.

# %%
movement = listed.groupby(["patch", "movement"]).size().unstack(fill_value=0)
movement = movement.reindex(columns=list(MOVEMENTS), fill_value=0)
display(Markdown(f"Movement of {month}'s lists against "
                 f"{previous or 'nothing: no earlier month was scored'}:"))
display(movement.apply(lambda column: suppress_counts(column, rule)))

# %% [markdown]
# ## 5. Who left the lists, and why
#
# Everyone who was on a list last month and is not on it now, counted by reason: they died,
# opted out, moved away, their home is no longer known, they moved to another patch, they were
# held back after an action, or others now rank higher.

# %%
leavers = query("SELECT why FROM list_leavers WHERE month = ?", month)
left = leavers["why"].value_counts().reindex(list(LEFT_WHY), fill_value=0)
display(pd.DataFrame({"meaning": pd.Series(LEFT_WHY),
                      "residents": suppress_counts(left, rule)}))

# %% [markdown]
# ## 6. Drift against the training population
#
# The model carries a profile of the people it was trained on. Every feature and the score
# are compared with it by the population stability index (PSI: below 0.1 stable, 0.1-0.2
# worth watching, above 0.2 shifted) and by the share of values missing. A shifted feature
# does not make a list wrong, but it says the model is seeing people unlike those it learned
# from, and the run says so before the list is used.

# %%
drift = json.loads((ws.lists / month / "drift.json").read_text(encoding="utf-8"))
if "score" not in drift:
    display(Markdown(drift["summary"]))
else:
    features = pd.DataFrame(drift["features"]).T
    features["largest change"] = [c.get("bin") if isinstance(c, dict) else None
                                  for c in features["largest_change"]]
    display(Markdown(f"Score PSI **{drift['score']['psi']:.3f}** ({drift['score']['status']}); "
                     f"{len(drift['alerts'])} alert(s), {len(drift['watch'])} on the watch "
                     "list. The features that moved most:"))
    display(features.sort_values("psi", ascending=False)
            [["psi", "status", "missing_share", "reference_missing_share", "largest change"]]
            .head(15).astype({"psi": float, "missing_share": float,
                              "reference_missing_share": float}).round(3))

# %% [markdown]
# The same drift as charts, drawn by the scoring run's own chart code: the PSI of the score and
# of the features that moved most, and this month's scores against the training population's.

# %%
model = load_pyfunc(ws, f"models:/{run['model']}/{run['model_version']}")
for figure in drift_figures(drift, model.unwrap_python_model().drift_reference).values():
    display(figure)
    plt.close(figure)

# %% [markdown]
# ## 7. The published summary
#
# The month's `summary.json` is what leaves the analyst's desk with the lists: the counts, the
# lists by patch, who left (counted), the hold-back and the drift verdict. Counts that say
# something about people's lives were suppressed when it was written; below, every count is
# shown under the workspace's rule.

# %%
settings = ("patches", "capacity")  # how many lists and places: settings, not people
display(pd.Series({k: v if k in settings else shown(v) for k, v in summary["counts"].items()},
                  name=month).to_frame())
published = pd.DataFrame(summary["patches"]).set_index("patch")
for column in published.columns.drop("capacity"):
    published[column] = published[column].map(shown)
display(published)
display(pd.Series({LEFT_WHY.get(k, k): shown(v) for k, v in summary["left"]["counts"].items()},
                  name="left the lists").to_frame())
display(Markdown(f"Hold-back: {summary['hold_back']['days']} days after any of "
                 f"{', '.join(summary['hold_back']['actions'])}.  \n"
                 f"Suppression recorded with the summary: {summary['suppression']['description']}"))
