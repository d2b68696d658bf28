"""The cost estimate as the table ``make bench`` prints."""

import textwrap

from playment_bench.cost.inputs import CostEstimate
from playment_bench.cost.prices import PRICE_REGION, PRICES_CHECKED_ON
from playment_bench.cost.stack import NOTE_WIDTH


def format_estimate(estimate: CostEstimate) -> str:
    inputs = estimate.inputs
    header = (
        f"Export of {inputs.jobs:,} jobs: {estimate.pages:,} pages of up to "
        f"{max(estimate.layout.page_sizes)}, {inputs.executions:,} execution(s) of "
        f"{estimate.layout.listing_steps:,} listing step(s) and {estimate.layout.report_steps:,} "
        f"report step(s), {inputs.child_execution_type} children"
    )
    rows = [("service", "item", "quantity", "USD")]
    rows += [
        (line.service, line.item, line.quantity, _dollars(line.dollars)) for line in estimate.lines
    ]
    rows.append(("Total", "", "", f"{estimate.total:.4f}"))
    rows.append(("Per 1,000,000 jobs", "", "", f"{estimate.per_million_jobs:.2f}"))
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    table = [
        "  ".join(
            (cell.rjust(width) if column == 3 else cell.ljust(width))
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    other = estimate.other_child_type
    comparison = (
        f"With {'EXPRESS' if inputs.child_execution_type == 'STANDARD' else 'STANDARD'} children "
        f"instead: Step Functions {other.dollars:.4f} ({other.quantity}), total "
        f"{estimate.total - estimate.by_service()['Step Functions'] + other.dollars:.4f}."
    )
    notes = [
        f"Prices: {PRICE_REGION} on-demand list prices, checked {PRICES_CHECKED_ON}.",
        comparison,
        *(f"- {text}" for text in estimate.assumptions),
        *(f"WARNING: {text}" for text in estimate.warnings),
    ]
    wrapped = [textwrap.fill(note, width=NOTE_WIDTH, subsequent_indent="  ") for note in notes]
    return "\n".join([header, *table, "", *wrapped])


def _dollars(amount: float) -> str:
    """Four decimals; an amount too small to show says so rather than printing 0.0000."""
    return "<0.0001" if 0 < amount < 0.00005 else f"{amount:.4f}"
