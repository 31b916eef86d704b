"""Render the model reports from their facts: Jinja2 templates to standalone HTML pages.

:func:`render_reports` turns the facts :func:`risk_model.reports.facts.collect_facts` gathered
(already suppressed) into the files of ``<workspace>/reports/<model>/v<version>/``: the model
card, the transparency record, the public explainer, the data dictionary (the catalogue's own,
from :mod:`risk_model.features.dictionary`), data quality and linkage, the fairness audit's
page as ``risk-model audit`` logged it, an index, and JSON of the facts and of the record.

Every page is one file with its CSS inline, no scripts and no external assets, so it opens from
a shared drive, by e-mail or in MLflow's artifact viewer. Templates escape every value.
"""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup

from risk_model.config import PLACEHOLDER
from risk_model.disclosure import SUPPRESSED

__all__ = ["PAGES", "render_reports"]

#: The pages, in the index's order: file, title, audience, what it holds.
PAGES: tuple[dict[str, str], ...] = (
    {"file": "model-card.html", "title": "Model card", "audience": "analysts, reviewers",
     "holds": "TRIPOD+AI items: purpose and users, data and dates, cohort, outcome, features, "
              "development and validation, performance with intervals, calibration, fairness, "
              "limitations, when to retrain"},
    {"file": "transparency-record.html", "title": "Algorithmic transparency record",
     "audience": "the public (tier 1), scrutiny (tier 2)",
     "holds": "the UK Algorithmic Transparency Recording Standard's tiers: owner and "
              "responsibility, description and rationale, decision-making and human oversight, "
              "tool, data, risks and mitigations"},
    {"file": "explainer.html", "title": "How we use your data", "audience": "residents",
     "holds": "plain English: what data is used, who sees what, how help is offered, how to "
              "opt out, how to ask questions"},
    {"file": "data-dictionary.html", "title": "Data dictionary", "audience": "analysts, partners",
     "holds": "every feature of the catalogue: meaning, computation, source, window, "
              "sensitivity, who may see it; the sources' holders and legal bases"},
    {"file": "data-quality.html", "title": "Data quality and linkage", "audience": "analysts",
     "holds": "the latest ingest reconciliation and data-quality figures per source, address "
              "matching and person linkage"},
    {"file": "fairness-audit.html", "title": "Fairness audit", "audience": "analysts, reviewers",
     "holds": "the version's audit as `risk-model audit` recorded it: every metric by group "
              "with intervals, gates, data availability"},
)
_EXTRAS = (
    {"file": "facts.json", "holds": "every figure the pages show, suppressed"},
    {"file": "transparency-record.json", "holds": "the record's fields, for publishing"},
    {"file": "data-dictionary.md", "holds": "the data dictionary in Markdown"},
)

#: Plain words for each feature family, for the public explainer.
_PLAIN_FAMILIES = {
    "housing": "Your home: its type and age, its energy rating, and any damp, mould, repairs or "
               "safety checks. This comes from the council and social landlords.",
    "health": "Your health: long-term conditions your GP has recorded, and past hospital and "
              "A&E visits. This comes from the NHS.",
    "demographic": "Your age and sex, from your GP record.",
    "area": "How well-off your neighbourhood is, from government figures.",
    "household": "How many people live in your home.",
}
_OUTCOMES = {"nhs_number": "linked on the pseudonymised NHS number",
             "probabilistic": "linked by the probabilistic model",
             "review": "sent to clerical review", "no_match": "no health record found",
             "opted_out": "left out: national data opt-out"}
_AVAILABILITY = {"home_matched": "home matched to a UPRN",
                 "tenancy_linked": "social tenants whose landlord record is linked",
                 "epc_on_file": "EPC on file", "hhsrs_assessed": "home assessed (HHSRS)",
                 "condition_coded": "a long-term condition coded",
                 "features_not_known": "share of features not known"}


def _count(value: Any) -> str:
    if value is None:
        return "–"
    if value == SUPPRESSED:
        return SUPPRESSED
    return f"{int(value):,}"


def _ci(m: Any) -> str:
    if m is None:
        return "–"
    if m == SUPPRESSED or not isinstance(m, dict):
        return SUPPRESSED
    text = f"{m['point']:.3f}"
    if "lower" in m:
        text += f" ({m['lower']:.3f} to {m['upper']:.3f})"
    return text


def _pct(value: Any, digits: int | None = None) -> str:
    if value is None:
        return "–"
    if value == SUPPRESSED or not isinstance(value, int | float):
        return SUPPRESSED
    return f"{value * 100:g}%" if digits is None else f"{value * 100:.{digits}f}%"


def _share(value: Any) -> str:
    """A share of importance: one decimal, and "under 0.1%" rather than a misleading 0.0%."""
    if isinstance(value, int | float) and 0 < value < 0.0005:
        return "under 0.1%"
    return _pct(value, 1)


def _ratio(m: Any) -> str:
    if m is None:
        return "–"
    if m == SUPPRESSED or not isinstance(m, dict):
        return SUPPRESSED
    if "ratio" not in m:
        return "–"
    text = f"{m['ratio']:.2f}"
    if "ratio_lower" in m:
        text += f" ({m['ratio_lower']:.2f} to {m['ratio_upper']:.2f})"
    return text


def _sentence(text: Any) -> str:
    """Text with its first letter capitalised and the rest as it is ("GP" stays "GP")."""
    text = str(text)
    return text[:1].upper() + text[1:]


def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(loader=PackageLoader("risk_model.reports", "templates"),
                      autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(count=_count, ci=_ci, pct=_pct, ratio=_ratio, share=_share,
                       sentence=_sentence)
    env.globals["placeholder"] = PLACEHOLDER
    return env


def _calibration_svg(deciles: list[dict[str, Any]]) -> Markup:
    """Observed against predicted by tenth, as an inline SVG (withheld tenths left out)."""
    shown = [(r["predicted"], r["observed"]) for r in deciles
             if isinstance(r["observed"], int | float)]
    if not shown:
        return Markup("")
    top = max(max(p, o) for p, o in shown) * 1.1 or 1.0
    size, pad = 300, 40

    def x(v: float) -> float:
        return round(pad + v / top * (size - 2 * pad), 1)

    def y(v: float) -> float:
        return round(size - pad - v / top * (size - 2 * pad), 1)

    parts = [f'<svg id="calibration-chart" role="img" width="{size}" height="{size}" '
             f'viewBox="0 0 {size} {size}" xmlns="http://www.w3.org/2000/svg">',
             "<title>Observed against predicted share with the outcome, by tenth of "
             "predicted risk</title>",
             f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(top)}" y2="{y(top)}" stroke="#b1b4b6" '
             'stroke-dasharray="4 3"/>',
             f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(top)}" y2="{y(0)}" stroke="#0b0c0c"/>',
             f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(0)}" y2="{y(top)}" stroke="#0b0c0c"/>',
             f'<text x="{size / 2}" y="{size - 8}" text-anchor="middle" font-size="11">'
             "predicted</text>",
             f'<text x="12" y="{size / 2}" text-anchor="middle" font-size="11" '
             f'transform="rotate(-90 12 {size / 2})">observed</text>',
             f'<text x="{x(0)}" y="{y(0) + 14}" text-anchor="middle" font-size="10">0%</text>',
             f'<text x="{x(top)}" y="{y(0) + 14}" text-anchor="middle" font-size="10">'
             f"{top * 100:.0f}%</text>",
             f'<text x="{x(0) - 4}" y="{y(top) + 4}" text-anchor="end" font-size="10">'
             f"{top * 100:.0f}%</text>"]
    parts += [f'<circle cx="{x(p)}" cy="{y(o)}" r="4" fill="#1d70b8"/>' for p, o in shown]
    parts.append("</svg>")
    return Markup("".join(parts))


def _risks(f: dict[str, Any]) -> list[dict[str, str]]:
    """The record's risks and their mitigations, with the figures that bear on them."""
    fair = f["fairness"]
    link = f["linkage"].get("person") or {}
    risks = [
        {"risk": "Someone is identified from published figures.",
         "mitigation": "Identifiers are replaced by keyed pseudonyms on entry and never appear "
                       "in outputs; every published count follows the small-number rule ("
                       + f["suppression"]["description"] + ")"},
        {"risk": "Health information reaches people who should not see it.",
         "mitigation": "Each feature names the roles that may see it; housing officers see "
                       "health reasons only as a broad category, never a diagnosis; every view "
                       "in the review app is logged."},
        {"risk": "The model treats a group unfairly.",
         "mitigation": "Every version is audited by ethnic group, sex, age, deprivation and "
                       "ethnic group by deprivation before promotion, and cannot be promoted "
                       "if a gate fails unless the reason is recorded. This version: "
                       + ("every gate passed" if fair["passed"] else "a gate failed") + "."},
        {"risk": "Some groups have thinner records, so the model knows less about them.",
         "mitigation": "The audit measures data availability by group and flags gaps ("
                       f"{len(fair['availability_flags'])} flagged for this version)."},
        {"risk": "Records are linked to the wrong person.",
         "mitigation": "Exact linkage on the pseudonymised NHS number first, a probabilistic "
                       "model second with uncertain pairs sent to clerical review; the link "
                       "rate is measured"
                       + (f" ({_pct(link.get('link_rate'), 1)} in the latest run)."
                          if link else ".")},
        {"risk": "People rely on the score instead of their judgement.",
         "mitigation": "An officer reviews every listed resident and decides; the score is "
                       "never used alone, and residents can say no."},
        {"risk": "The data change and the model goes stale.",
         "mitigation": "Each monthly run checks drift against the training population and says "
                       "whether the list can be trusted; the model is retrained at least every "
                       f"{f['retraining']['every_months']} months."},
        {"risk": "People who opted out are included.",
         "mitigation": "The national data opt-out is applied on entry and checked again before "
                       "each monthly scoring."},
        {"risk": "The housing-attributable risk is read as the effect of a repair.",
         "mitigation": "It is labelled wherever shown as an association in the data, not a "
                       "measured effect."},
    ]
    return risks


def _record(f: dict[str, Any], risks: list[dict[str, str]]) -> dict[str, Any]:
    """The transparency record's fields as data (tier 1 and tier 2)."""
    o = f["owner"]
    lgbm = f["performance"].get("lightgbm", {})
    return {
        "standard": "UK Algorithmic Transparency Recording Standard (shape of its tiers)",
        "to_be_completed": [f"reports.{k}" for k in o["to_be_completed"]],
        "tier_1": {"name": f["model"]["title"], "organisation": o["organisation"],
                   "description": f["model"]["description"], "website": o["website"],
                   "contact_email": o["contact_email"], "phase": o["phase"]},
        "tier_2": {
            "owner_and_responsibility": {
                "organisation": o["organisation"], "team": o["team"],
                "senior_responsible_owner": o["senior_responsible_owner"],
                "supplier": o["supplier"], "contact_email": o["contact_email"]},
            "description_and_rationale": {
                "outcome": f["outcome"]["label"], "cohort": f["cohort"]["description"],
                "features": f["features"]["count"],
                "baseline_auroc": f["performance"].get("baseline", {}).get("auroc"),
                "model_auroc": lgbm.get("auroc")},
            "decision_making_process": {
                "frequency": "monthly", "human_review": "an officer reviews every listed "
                "resident and decides what to offer", "appeals": o["public_contact"]},
            "tool_specification": {
                "model": f["model"]["name"], "version": f["model"]["version"],
                "trained_on": f["model"]["trained_on"], "test_date": f["design"]["test_date"],
                "auroc": lgbm.get("auroc"), "calibration_slope": lgbm.get("calibration_slope"),
                "fairness_passed": f["fairness"]["passed"], "retrain_by": f["retraining"]["by"]},
            "data_specification": [
                {k: s[k] for k in ("source", "held_by", "arrives", "purpose", "legal_basis",
                                   "health")} for s in f["data"]["sources"]],
            "risks_and_mitigations": {"impact_assessments": o["impact_assessments"],
                                      "risks": risks},
        },
    }


def render_reports(facts: dict[str, Any], *, dictionary_html: str, dictionary_markdown: str,
                   audit_html: str) -> dict[str, str]:
    """Render every file of a version's reports.

    Parameters
    ----------
    facts : dict
        What :func:`risk_model.reports.facts.collect_facts` returned (already suppressed).
    dictionary_html, dictionary_markdown : str
        The data dictionary, from :mod:`risk_model.features.dictionary`.
    audit_html : str
        The fairness audit's page as ``risk-model audit`` logged it to the training run.

    Returns
    -------
    dict of str to str
        File name to content: the pages of :data:`PAGES`, ``index.html``, ``facts.json``,
        ``transparency-record.json`` and ``data-dictionary.md``.
    """
    env = _environment()
    risks = _risks(facts)
    label = facts["outcome"]["label"]
    plain_outcome = label.replace("an emergency admission", "emergency hospital care") \
        .replace("within", "in the next")
    used = [fam["family"] for fam in facts["features"]["families"]]
    plain_data = [_PLAIN_FAMILIES.get(fam, fam) for fam in used]
    shared = {"f": facts}
    out = {
        "index.html": env.get_template("index.html").render(
            **shared, pages=PAGES, extras=_EXTRAS),
        "model-card.html": env.get_template("model-card.html").render(
            **shared, calibration_svg=_calibration_svg(facts["calibration"]["deciles"]),
            availability=_AVAILABILITY),
        "transparency-record.html": env.get_template("transparency-record.html").render(
            **shared, risks=risks),
        "explainer.html": env.get_template("explainer.html").render(
            **shared, plain_outcome=plain_outcome, plain_data=plain_data),
        "data-quality.html": env.get_template("data-quality.html").render(
            **shared, outcomes=_OUTCOMES),
        "data-dictionary.html": dictionary_html,
        "data-dictionary.md": dictionary_markdown,
        "fairness-audit.html": audit_html,
        "facts.json": json.dumps(facts, indent=1, default=str) + "\n",
        "transparency-record.json": json.dumps(_record(facts, risks), indent=1,
                                               default=str) + "\n",
    }
    return out

