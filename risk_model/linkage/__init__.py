"""Record linkage: every resident to their home and to their housing record.

- :mod:`risk_model.linkage.address`: GP-registered addresses to gazetteer UPRNs with
  uk-address-matcher. The one step that reads an address, so ingest calls it inside the
  boundary and only the UPRN, the score and the decision reach the warehouse.
- :mod:`risk_model.linkage.person`: housing residents to health persons on the pseudonymised
  warehouse tables (exact on the NHS-number pseudonym, then Splink), the clerical-review queue,
  the link table and each person's homes over time (``risk-model link``).
- :mod:`risk_model.linkage.quality`: how good the links are, against the ground truth of a
  synthetic area where it exists and from the model's own probabilities where it does not.
"""
