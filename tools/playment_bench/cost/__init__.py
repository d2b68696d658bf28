"""What exporting N jobs costs on AWS, service by service, as the stack is deployed.

A model, not a bill: the counts (state transitions, invocations, S3 requests) come from
``statemachine/export.asl.json`` and ``template.yaml`` as they stand, the durations are measured
by the caller (``make bench``), and the prices are the list prices below, written down with the
day they were checked, so a reader can tell when the figure has gone stale.

Step Functions' counting rule, as AWS documents it: every state entered is one state transition
(retries included), and a distributed Map is charged one more transition per child workflow
execution it starts. The export runs in bounded steps, so the parent loops: the model reads
the definition by following each state's ``Next``, and a ``Choice``'s ``Default`` (the happy
path: there are pages to fetch; the export is complete), and a Choice rule that leads back to
a state already on that path closes a loop. The loop holding the distributed Map runs once per
listing step (``ceil(jobs / ListingStepJobs)``), the other once per report step
(``ceil(pages / MAX_PAGES_PER_STEP)``), the states outside both once per execution. Retries and
``Catch`` paths cost more transitions than this and are not counted: the model is of an export
that goes well.
"""

from playment_bench.cost.estimate import estimate
from playment_bench.cost.inputs import CostEstimate, CostInputs, CostLine, ExecutionLayout
from playment_bench.cost.prices import (
    PRICES_CHECKED_ON,
    S3_STANDARD_PER_GET,
    S3_STANDARD_PER_PUT,
    SFN_STANDARD_PER_TRANSITION,
)
from playment_bench.cost.stack import deployed_sizes
from playment_bench.cost.table import format_estimate
from playment_bench.cost.transitions import path_loops, success_path, transition_paths

__all__ = [
    "PRICES_CHECKED_ON",
    "S3_STANDARD_PER_GET",
    "S3_STANDARD_PER_PUT",
    "SFN_STANDARD_PER_TRANSITION",
    "CostEstimate",
    "CostInputs",
    "CostLine",
    "ExecutionLayout",
    "deployed_sizes",
    "estimate",
    "format_estimate",
    "path_loops",
    "success_path",
    "transition_paths",
]
