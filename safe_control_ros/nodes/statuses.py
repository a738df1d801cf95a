"""/diagnostics status names, "node: component" as diagnostic_updater names them."""

PLANNER_STATUS = "controller: planner"  # each control tick: plan, fallback, stop, ...
MODEL_STATUS = "controller: model"  # each /model update: accepted or rejected
FIT_STATUS = "estimator: model fit"  # each refit: published, kept or withheld
