# ---
# jupyter:
#   jupytext:
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
# # 01 · The linked population and the quality of its data
#
# Before trusting a model, an analyst needs to know what went into it. This notebook walks
# through a workspace's data from the moment it arrived:
#
# 1. **Ingest**: how many rows of each extract were accepted, quarantined (refused by a data
#    contract) or excluded because the person opted out of sharing their health data.
# 2. **Data quality**: per source, the share of rows accepted, the problems found by rule, and
#    the fields that are often empty.
# 3. **Quarantine**: which fields and rules the refused rows broke.
# 4. **The national data opt-out**: who was excluded, by broad group.
# 5. **The linked population**: everyone registered with a GP in the area, by tenure,
#    deprivation, age, sex and ethnic group.
# 6. **Linkage quality**: how well housing residents were linked to health records, overall and
#    by group (and, on synthetic data, against the known truth).
# 7. **Coverage of the features**: how much of each feature is known, and how that differs by
#    tenure (owner-occupiers have no landlord records, for example).
#
# It only reads: it never changes the workspace. Every count follows the workspace's
# small-number rule, and no identifier (pseudonym, UPRN, tenancy reference) is shown.
#
# Run it after `risk-model demo` (or on any workspace that has been ingested, linked and had
# its features built). It uses the workspace named by `RISK_MODEL_WORKSPACE`, else
# `./workspace`, exactly like the `risk-model` command.

# %%
# %matplotlib inline
import json

import duckdb
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from risk_model.config import Workspace, default_workspace_path
from risk_model.disclosure import rule_for, suppress_counts, suppress_table, suppressed_rate
from risk_model.errors import WorkspaceError
from risk_model.features import load_catalogue
from risk_model.linkage.report import charts

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


def report(name: str) -> dict:
    """Read one of the JSON reports the pipeline wrote in the workspace's reports/ folder."""
    return json.loads((ws.reports / name).read_text(encoding="utf-8"))


display(Markdown(f"**Workspace:** `{ws.root}`  \n**Small numbers:** {rule.describe()}"))

# %% [markdown]
# ## 1. What ingest accepted, quarantined and excluded
#
# Every landing file is reconciled: each row read was either accepted into the warehouse,
# quarantined with its reasons, or excluded under the national data opt-out. The check that
# the three add up is made on the true counts (`reconciled`); the counts below are then
# rounded under the small-number rule, so the rounded figures need not add up exactly.

# %%
reconciliation = query("""
    SELECT source, file, rows_read, rows_accepted, rows_quarantined, rows_opted_out, reconciled
    FROM ingest_reconciliation
    QUALIFY row_number() OVER (PARTITION BY file ORDER BY ingested_at DESC) = 1
    ORDER BY source, file""")
counts = ["rows_read", "rows_accepted", "rows_quarantined", "rows_opted_out"]
display(suppress_table(reconciliation, counts, rule).set_index(["source", "file"]))
unreconciled = reconciliation.loc[~reconciliation["reconciled"].astype(bool), "file"].tolist()
display(Markdown("Every file reconciles." if not unreconciled else
                 f"**These files do not reconcile:** {', '.join(unreconciled)}"))

# %% [markdown]
# ## 2. Data quality by source
#
# Ingest profiles every source against its data contract and writes the data-quality report
# (`reports/data_quality.json` and `.html`). Its counts and shares were already suppressed
# when it was written. `share_accepted` is the share of rows read that were accepted;
# `problems_*` count the problems found under each contract rule (a row may have several).

# %%
quality = report("data_quality.json")
per_source = pd.DataFrame([{
    "source": s["source"], "rows_read": s["rows_read"], "rows_accepted": s["rows_accepted"],
    "share_accepted": s["validity_share"], "duplicate_rows": s["duplicates"],
    "rows_missing_key": (s["keys"] or {}).get("rows_missing_key"),
    "duplicate_keys": (s["keys"] or {}).get("duplicate_keys"),
    **{f"problems_{rule_name}": n for rule_name, n in s["validity"].items()},
} for s in quality["sources"]]).set_index("source")
problem_columns = [c for c in per_source if c.startswith("problems_")]
per_source[problem_columns] = per_source[problem_columns].fillna(0)  # no problem of that rule
display(per_source)

# %% [markdown]
# Fields that are often empty deserve a look before they are relied on: a field that is 60%
# complete in one source may explain why a feature is "not known" for many residents. Below,
# every field less than 95% complete, as it arrived (identifying fields are measured too,
# though they never reach the warehouse themselves).

# %%
fields = pd.DataFrame([{"source": s["source"], **f} for s in quality["sources"]
                       for f in s["fields"]])
numeric = pd.to_numeric(fields["completeness"], errors="coerce")
display(fields[numeric < 0.95].sort_values(["source", "field"])
        [["source", "field", "completeness", "missing"]].set_index(["source", "field"]))

# %% [markdown]
# ## 3. Quarantined rows: which fields broke which rules
#
# A quarantined row is kept, with its reasons, in `quarantine/<file>.csv` for the data owner
# to fix. Those files hold the refused values (identifiers are withheld there too), so this
# notebook reads only the file, field and rule of each problem and counts them.

# %%
problem_files = sorted(ws.quarantine.glob("*.csv")) if ws.quarantine.exists() else []
problems = pd.concat([pd.read_csv(p, usecols=["file", "field", "rule"], dtype=str)
                      for p in problem_files]) if problem_files else pd.DataFrame()
if problems.empty:
    display(Markdown("No row was quarantined: every row met its data contract."))
else:
    by_rule = problems.groupby(["file", "field", "rule"]).size().rename("problems")
    display(suppress_counts(by_rule, rule).to_frame())

# %% [markdown]
# ## 4. The national data opt-out
#
# People who opted out are removed from the health sources before anything is written. The
# latest ingest run says how many people were excluded, by broad group (already suppressed).
# A group much larger here than in the population is a group whose health the lists will
# under-represent.

# %%
runs = sorted((ws.reports / "ingest").glob("*.json"))
opt_out = json.loads(runs[-1].read_text(encoding="utf-8"))["opt_out"] if runs else {}
display(Markdown(f"People excluded in the latest ingest run: "
                 f"**{opt_out.get('people_excluded', 'not recorded')}**"))
by_group = [pd.Series(v, name="people").rename_axis(k.removeprefix("people_by_"))
            for k, v in opt_out.items() if k.startswith("people_by_")]
for table in by_group:
    display(table.to_frame())

# %% [markdown]
# ## 5. The linked population
#
# The population is everyone registered with a GP in the area on each as-of date, alive and
# not opted out, whatever their tenure. Their home on the date comes from linkage (a social
# tenancy beats a GP address, which lags moves). Below: the population on each date the
# features were built for, then its make-up on the latest date.

# %%
sizes = query("SELECT as_of, count(*) AS residents FROM feature_snapshots GROUP BY 1 ORDER BY 1")
display(suppress_table(sizes, ["residents"], rule).set_index("as_of"))
latest = sizes["as_of"].max()
display(Markdown(f"The make-up of the population as of **{latest:%Y-%m-%d}**:"))

# %%
for column in ("tenure", "imd_quintile", "age_band", "sex", "ethnic_group"):
    groups = query(f"""
        SELECT coalesce(CAST({column} AS VARCHAR), 'not known') AS {column}, count(*) AS n
        FROM feature_snapshots WHERE as_of = ? GROUP BY 1 ORDER BY 1""", latest)
    total = int(groups["n"].sum())
    groups["share"] = [suppressed_rate(int(n), total, rule) for n in groups["n"]]
    groups["residents"] = suppress_counts(groups["n"], rule)
    display(groups.drop(columns="n").set_index(column))

# %% [markdown]
# Housing records reach a resident only through the home: a resident whose GP address matched
# no UPRN (tenure "not known" above) has no EPC, hazard or landlord record in their features.
#
# Social tenants are linked to health records person by person. Each housing resident ends in
# one outcome: linked on the NHS number, linked by the probabilistic model, sent to clerical
# review, no match, or not linked because they opted out.

# %%
outcomes = query("SELECT outcome, count(*) AS n FROM link_resident_outcomes GROUP BY 1 "
                 "ORDER BY 1").set_index("outcome")["n"]
display(suppress_counts(outcomes.rename("housing residents"), rule).to_frame())

# %% [markdown]
# ## 6. Linkage quality
#
# From the linkage report (`reports/linkage.json`, written by `risk-model link`). Without any
# truth, the link rate (the share of housing residents linked) and the expected number of
# false links (the sum of one minus the match probability of each probabilistic link) still
# say how well linkage went. Rates are withheld (`*`) where a group is small.

# %%
linkage = report("linkage.json")
rates = linkage["link_rates"]
display(Markdown(
    f"- Link rate: **{rates['link_rate']}** of housing residents (as of {rates['as_of']})\n"
    f"- Expected false links: **{rates['expected_false_links']}** (a rate of "
    f"{rates['expected_false_link_rate']} of links)\n"
    f"- Address matching (GP address to UPRN): match rate "
    f"**{linkage['address_matching']['match_rate']}**"))
link_by_group = pd.DataFrame([{"dimension": d, **row} for d, rows in rates["by_group"].items()
                              for row in rows]).set_index(["dimension", "group"])
display(link_by_group)

# %% [markdown]
# The pairs the model scored, by match weight: most candidate pairs are clearly different
# people (large negative weights), links sit at high weights, and the pairs in between go to
# clerical review. Counts are grouped in bands of five weight units and suppressed.

# %%
weights = pd.DataFrame(linkage["person_linkage"]["match_weight_histogram"])
if not weights.empty:
    band = (weights["match_weight_bin"] // 5 * 5).astype(int)
    banded = weights.groupby(band.rename("match weight from"))["pairs"].sum()
    display(suppress_counts(banded, rule).rename("candidate pairs").to_frame().T)
queue = pd.Series(linkage["person_linkage"]["review_queue_by_reason"], dtype="int64")
display(suppress_counts(queue.rename("pairs for clerical review"), rule).to_frame())

# %% [markdown]
# On synthetic data the truth is known, so linkage can be measured exactly: precision (the
# share of links that are right) and recall (the share of linkable residents linked), overall
# and by group. A group whose recall is more than three points below the overall figure is a
# group whose housing records reach its health records less often. A real council's workspace
# has no truth, and this part is skipped.

# %%
truth = linkage.get("person_quality_vs_truth")
if truth is None:
    display(Markdown("No ground truth in this workspace (real data): see the link rates above."))
else:
    display(Markdown(f"Precision **{truth['precision']}**, recall **{truth['recall']}**; groups "
                     "more than 3 points below overall recall: "
                     f"{', '.join(truth['groups_more_than_3_points_below']) or 'none'}."))
    display(pd.DataFrame([{"dimension": d, **row} for d, rows in truth["by_group"].items()
                          for row in rows]).set_index(["dimension", "group"]))

# %%
for name, figure in charts(linkage).items():
    if name != "match_weights.png":  # its counts are shown above, suppressed, instead
        display(figure)
    plt.close(figure)

# %% [markdown]
# ## 7. Coverage of the features
#
# Each feature build records, per as-of date, the share of every feature that is not known,
# and the share of residents whose housing features are known by tenure. Housing sources
# cover only some homes: the landlord's damp and repair records cover social homes, the EPC
# register homes with a certificate, HHSRS assessments homes that were surveyed or inspected.
# Outside its coverage a feature is "not known", never 0, and the model sees it as missing.

# %%
built = query("SELECT as_of, summary FROM feature_runs ORDER BY as_of DESC, built_at DESC "
              "LIMIT 1")
summary = json.loads(built["summary"].iloc[0])
catalogue = {f.name: f for f in load_catalogue().select()}
missing = pd.DataFrame({
    "family": [catalogue[n].family if n in catalogue else "" for n in summary["missing_share"]],
    "feature": list(summary["missing_share"]),
    "label": [catalogue[n].label if n in catalogue else "" for n in summary["missing_share"]],
    "not known": list(summary["missing_share"].values()),
}).set_index(["family", "feature"])
display(Markdown(f"Features as of **{summary['as_of']}**: share not known, by family."))
display(missing)

# %%
display(Markdown("Residents by tenure, and the share of each whose housing feature is known:"))
display(pd.Series(summary["residents_by_tenure"], name="residents").to_frame().T)
display(pd.DataFrame(summary["known_share_by_tenure"]).T)
