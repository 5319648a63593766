"""Reading what happened to decide what should: the scorecard and its HTML report, the
evaluation report and its recommendation, policy replay, diversity figures, and the demo's
per-path table."""
