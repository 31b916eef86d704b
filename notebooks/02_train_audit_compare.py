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
# # 02 · Train a challenger, audit it and compare it with the champion
#
# The monthly lists are made by the model version that holds the alias `champion` in the MLflow
# registry. Before another version takes its place, an analyst trains it, audits it for
# fairness and compares it with the champion on the same test people. This notebook does those
# three steps with the same functions the `risk-model` command uses:
#
# 1. **The spec**: what the model predicts, for whom, from which dates, and the gates a version
#    must pass before it can be promoted.
# 2. **The registry**: every registered version, which one is the champion, and its verdicts.
# 3. **Train** a challenger (`risk-model train`): LightGBM and a baseline, calibrated, measured
#    on the test date with 95% intervals, logged to MLflow and registered as a new version.
# 4. **Audit** it (`risk-model audit`): performance by ethnic group, sex, age, deprivation and
#    ethnic group x deprivation, and data availability by the same groups.
# 5. **Compare** it with the champion: the test metrics side by side, and how far the two agree
#    on who would be selected at each capacity.
# 6. **Promote** it, only if you ask (`PROMOTE = True` below), and only if it passes every gate.
#
# It trains and audits, so it adds a version and a run to the workspace's MLflow store; it does
# not move the champion unless asked. On unchanged data and an unchanged spec the challenger
# reproduces the champion (training is deterministic): that is a useful check in itself. To try
# a change, edit the spec in `models/` (or point `RISK_MODEL_MODELS` at a folder holding a
# changed copy) before running. Every count follows the small-number rule; no identifier is
# shown. It uses the workspace named by `RISK_MODEL_WORKSPACE`, else `./workspace`.

# %%
# %matplotlib inline
import json
import os

import duckdb
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from risk_model.config import Workspace, default_workspace_path
from risk_model.disclosure import rule_for, suppress_count, suppressed_rate
from risk_model.errors import PromotionRefused, WorkspaceError
from risk_model.modelling.audit import audit
from risk_model.modelling.run import ALIAS, promote, train
from risk_model.modelling.spec import spec_named
from risk_model.modelling.train import load_splits
from risk_model.tracking import alias_version, load_pyfunc, model_versions, run_metrics

# %% tags=["parameters"]
MODEL = "emergency_admission_12m"  # a spec in models/
PROMOTE = False  # True: promote the challenger if it passes every gate (never forced here)

# %%
ws = Workspace.at(default_workspace_path())
if not ws.warehouse.exists():
    raise WorkspaceError(f"no warehouse in {ws.root}",
                         hint="run `risk-model demo` first, and start Jupyter with "
                              "RISK_MODEL_WORKSPACE set to the workspace folder (a notebook "
                              "runs in its own folder, where ./workspace is not the "
                              "CLI's)")
rule = rule_for(ws)
spec = spec_named(MODEL)
# MLflow's artifact download bars would otherwise fill the training cell's output
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
display(Markdown(f"**Workspace:** `{ws.root}`  \n**Model:** {spec.title} (`{MODEL}`)  \n"
                 f"**Small numbers:** {rule.describe()}"))

# %% [markdown]
# ## 1. The spec
#
# The model is declared in its spec, `models/<MODEL>.yaml`. Training fits on the train
# date(s), stops early and calibrates on the validation date, and measures on the test date,
# whose outcomes are never seen in training. `capacity` is the share of the cohort services can
# act on: the capacity metrics measure the model at exactly those shares.

# %%
spec.training_dates()  # a spec without dates stops here, saying what to add
display(pd.Series({
    "predicts": spec.outcome.label,
    "cohort": spec.cohort.description,
    "train on": ", ".join(map(str, spec.dates.train)),
    "validate on": str(spec.dates.validation),
    "test on": str(spec.dates.test),
    "capacity": ", ".join(f"{c:.0%}" for c in spec.capacity),
    "fairness groups": ", ".join(spec.fairness.groups),
    "lists ordered by": spec.priority.rank_by,
}, name=MODEL).to_frame())
display(Markdown(
    "**Promotion gates** (checked by `risk-model promote`): the lower end of the test AUROC's "
    f"95% interval at least {spec.gates.auroc_lower_min}; the calibration slope within "
    f"{spec.gates.calibration_slope[0]}-{spec.gates.calibration_slope[1]}; the test AUROC no "
    f"more than {spec.gates.max_auroc_drop_vs_champion} below the champion's; and a passed "
    "fairness audit."))

# %% [markdown]
# ## 2. The registry before training
#
# Every version ever registered, newest first. `champion` is the version the monthly scoring
# uses; `previous` is the one it replaced. The fairness verdict is the one `risk-model audit`
# recorded on the version; a forced promotion keeps its reason.


# %%
def registry() -> pd.DataFrame:
    """The registered versions of the model with their aliases and verdicts."""
    return pd.DataFrame([{
        "version": v["version"],
        "aliases": ", ".join(v["aliases"]),
        "test date": v["tags"].get("risk_model.test_date"),
        "fairness audit": {"true": "passed", "false": "failed"}.get(
            v["tags"].get("risk_model.fairness.passed", ""), "not run"),
        "promoted at": v["tags"].get("risk_model.promoted_at", ""),
        "forced because": v["tags"].get("risk_model.promotion.forced_reason", ""),
    } for v in model_versions(ws, MODEL)], columns=[
        "version", "aliases", "test date", "fairness audit", "promoted at", "forced because",
    ]).set_index("version")


champion = alias_version(ws, MODEL, ALIAS)
display(registry())
display(Markdown(f"The champion is version **{champion}**." if champion else
                 "No version is the champion yet: the comparison below is skipped."))

# %% [markdown]
# ## 3. Train the challenger
#
# `train` builds any missing feature snapshots, fits LightGBM and the baseline, measures both
# on the test date (and, on synthetic data, the true risk, the ceiling no model can reach),
# logs everything to MLflow and registers the model as a new version.

# %%
result = train(ws, MODEL, progress=print)
display(Markdown(
    f"Registered **version {result.version}** (MLflow run `{result.mlflow_run_id}`) in "
    f"{result.seconds:.0f} s; early stopping kept {result.best_iteration} boosting rounds."))
display(pd.Series({split: suppress_count(n, rule) for split, n in result.rows.items()},
                  name="people").to_frame().T)

# %% [markdown]
# ## 4. Audit the challenger
#
# `audit` loads the version from the registry (so what is audited is exactly what would be
# promoted), scores its test cohort and measures it by group with bootstrap intervals. A gate
# fails only when a group's ratio to its reference group lies outside the tolerance with its
# whole interval. Groups with too few outcomes to judge are named, not judged. The full report,
# with charts, is the HTML file named below.

# %%
audited = audit(ws, MODEL, result.version, progress=print)
display(Markdown(f"Fairness audit of version {audited.version}: **"
                 f"{'passed' if audited.passed else 'failed'}**. Report: `{audited.report}`"))
display(pd.DataFrame(audited.gates)[["gate", "passed", "detail"]].set_index("gate"))

# %% [markdown]
# The gated metrics by group: each group's ratio to its reference group with the ratio's 95%
# interval. `*` means the figure rests on a count too small to show. `n` and `events` are the
# group's people and outcomes, suppressed.

# %%
summary = json.loads(audited.summary.read_text(encoding="utf-8"))
gated = sorted({g["metric"] for g in summary["gates"]})
rows = []
for dimension, d in summary["fairness"]["dimensions"].items():
    for group, g in d["groups"].items():
        row = {"dimension": dimension, "group": group, "n": g["n"], "events": g["events"]}
        for metric in gated:
            m = g["metrics"].get(metric, "*")
            row[metric] = m if isinstance(m, str) else (
                f"{m['ratio']} ({m['ratio_lower']}-{m['ratio_upper']})"
                if m.get("ratio_lower") is not None else m["ratio"])
        rows.append(row)
display(Markdown("Reference groups: " + ", ".join(
    f"{dim}: {d['reference']}" for dim, d in summary["fairness"]["dimensions"].items())))
display(pd.DataFrame(rows).set_index(["dimension", "group"]))

# %% [markdown]
# Data availability: a group whose records are less complete than its reference group's
# (home matched to a UPRN, EPC on file, conditions coded by the GP, ...) is flagged. These
# flags inform; they are not gates. A model cannot see what was never recorded.

# %%
flags = pd.DataFrame(audited.flags)
display(flags.set_index(["dimension", "group", "measure"]) if not flags.empty else
        Markdown("No group's data is markedly less complete than its reference group's."))

# %% [markdown]
# ## 5. Compare with the champion
#
# Both versions were measured on the test date of the spec, so on the same people (as long as
# the spec's dates did not change). Each cell is the point estimate with its 95% bootstrap
# interval. AUROC and AUPRC: higher is better; Brier score: lower is better; a calibration slope
# near 1 and intercept near 0 mean the risks can be read as probabilities; `top_*` are the
# precision, recall and lift when that share of the cohort is selected.


# %%
def test_metrics(logged: dict[str, float]) -> pd.DataFrame:
    """The LightGBM test metrics of a training run's logged metrics: point, lower, upper."""
    found: dict[str, dict[str, float]] = {}
    for key, value in logged.items():
        parts = key.split(".")
        if parts[:2] == ["test", "lightgbm"] and parts[-1] in ("point", "lower", "upper"):
            found.setdefault(".".join(parts[2:-1]), {})[parts[-1]] = value
    return pd.DataFrame(found).T[["point", "lower", "upper"]]


versions = {v["version"]: v for v in model_versions(ws, MODEL)}
compared = {f"challenger (v{result.version})": result.version}
if champion is not None:
    compared = {f"champion (v{champion})": champion, **compared}
logged = {label: run_metrics(ws, versions[v]["run_id"]) for label, v in compared.items()}
metrics = {label: test_metrics(m) for label, m in logged.items()}
table = pd.DataFrame({label: m.apply(lambda r: f"{r['point']:.3f} ({r['lower']:.3f}-"
                                                f"{r['upper']:.3f})", axis=1)
                      for label, m in metrics.items()})
if champion is not None:
    labels = list(metrics)
    table["difference"] = (metrics[labels[1]]["point"] - metrics[labels[0]]["point"]).round(4)
display(table)
display(pd.DataFrame({label: {
    "test people": suppress_count(int(m["test.lightgbm.n"]), rule),
    "with the outcome": suppress_count(int(m["test.lightgbm.events"]), rule),
} for label, m in logged.items()}))

# %%
headline = ["auroc", "auprc"] + [f"top_{c * 100:g}pct.precision" for c in spec.capacity]
headline = [h for h in headline if all(h in m.index for m in metrics.values())]
fig, axes = plt.subplots(1, len(headline), figsize=(3 * len(headline), 3), squeeze=False)
for ax, name in zip(axes[0], headline, strict=True):
    for i, m in enumerate(metrics.values()):
        point, lower, upper = m.loc[name, ["point", "lower", "upper"]]
        ax.errorbar([i], [point], yerr=[[point - lower], [upper - point]], fmt="o", capsize=4)
    ax.set_xticks(range(len(metrics)), [label.split(" ")[0] for label in metrics])
    ax.set_xlim(-0.5, len(metrics) - 0.5)
    ax.set_title(name, fontsize=9)
fig.suptitle("Test metrics with 95% intervals")
fig.tight_layout()
display(fig)
plt.close(fig)

# %% [markdown]
# ## 6. Would the two versions select the same people?
#
# Two models with the same AUROC can still pick different people. Both registered versions are
# loaded from the registry and score the spec's test cohort; for each capacity, the share of
# the people the champion would select that the challenger would select too.

# %%
if champion is None:
    display(Markdown("No champion to compare with."))
else:
    risks = {}
    for label, version in compared.items():
        model = load_pyfunc(ws, f"models:/{MODEL}/{version}")
        schema = model.unwrap_python_model().schema
        with duckdb.connect(str(ws.warehouse), read_only=True) as con:
            test = load_splits(con, spec, schema)["test"]
        risks[label] = pd.Series(model.predict(test.x).to_numpy(), index=test.person_id)
    first, second = risks.values()
    overlap = {}
    for share in spec.capacity:
        k = max(1, round(share * len(first)))
        chosen = set(first.nlargest(k).index), set(second.nlargest(k).index)
        overlap[f"top {share:.0%}"] = suppressed_rate(len(chosen[0] & chosen[1]), k, rule)
    display(pd.Series(overlap, name="share selected by both").to_frame().T)

# %% [markdown]
# ## 7. Promote, only if asked
#
# `promote` checks every gate (performance, calibration, no worse than the champion, and the
# fairness audit), records each verdict on the version, and moves `champion` only if all pass;
# the old champion keeps the alias `previous`. It is never forced here: overriding a failed
# gate needs a recorded reason, from the command line
# (`risk-model promote MODEL VERSION --force --reason TEXT`).

# %%
if PROMOTE:
    try:
        promoted = promote(ws, MODEL, result.version)
    except PromotionRefused as refused:
        display(Markdown(f"**Not promoted.** {refused}"))
    else:
        display(pd.DataFrame([g.__dict__ for g in promoted.gates]).set_index("gate"))
        display(Markdown(f"Version {promoted.version} is now the champion."))
else:
    display(Markdown(f"Not promoted. To promote it: `risk-model promote {MODEL} "
                     f"{result.version}` (or set `PROMOTE = True` above and run again)."))
display(registry())
