"""The cost of an export: every service's line, what the figure assumes, and the
Step Functions line had the children been the other type."""

from playment_bench.cost.assumptions import assumptions, warnings
from playment_bench.cost.inputs import CostEstimate, CostInputs, execution_layout
from playment_bench.cost.service_lines import (
    lambda_compute_lines,
    lambda_requests_line,
    logs_lines,
    s3_other_line,
    s3_put_line,
    secrets_line,
    step_functions_line,
)
from playment_bench.cost.stack import ChildExecutionType
from playment_bench.cost.transitions import transition_paths


def estimate(inputs: CostInputs) -> CostEstimate:
    layout = execution_layout(inputs)
    paths = transition_paths()
    other: ChildExecutionType = (
        "EXPRESS" if inputs.child_execution_type == "STANDARD" else "STANDARD"
    )
    lines = (
        step_functions_line(inputs, paths, layout, inputs.child_execution_type),
        *lambda_compute_lines(inputs, layout),
        lambda_requests_line(inputs, layout),
        s3_put_line(inputs, layout),
        s3_other_line(inputs, layout),
        secrets_line(inputs, layout),
        *logs_lines(inputs, layout),
    )
    return CostEstimate(
        inputs=inputs,
        layout=layout,
        paths=paths,
        lines=lines,
        other_child_type=step_functions_line(inputs, paths, layout, other),
        assumptions=assumptions(inputs, paths, layout),
        warnings=warnings(inputs, paths, layout),
    )
