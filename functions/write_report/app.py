"""WriteReport: gather every page's outcomes into ``_exports/<execution>/report.json``, in
bounded steps: while its result carries ``progress``, the state machine calls it again with it.

Its last result tells the state machine how the execution ends: Succeed, ``ExportIncomplete``
or ``PlaymentAuthError``.
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from exporter_runtime.clients import aws_session, s3_client
from exporter_runtime.invocation import deadline_from
from exporter_runtime.observability import logger, metrics, tracer
from exporter_runtime.settings import ExporterSettings
from playment_exporter.batch_history import BatchHistory
from playment_exporter.report import ReportProgress, write_report
from playment_exporter.run_records import RunRecords, validate_execution_name
from playment_exporter.storage_s3 import S3Storage

SAFETY_MARGIN_S = 30.0

settings = ExporterSettings()  # read from the environment, once per container
session = aws_session()  # this container's credentials (its role's, on Lambda)
s3 = s3_client(session, max_connections=4)
storage = S3Storage(s3, settings.results_bucket, workers=2)


class WriteReportEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    execution: str
    listing: dict[str, Any]
    progress: ReportProgress | None = None


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context)


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The handler's work, undecorated: mutation testing (``make mutation``) mutates only
    functions without decorators."""
    request = WriteReportEvent.model_validate(event)
    execution = validate_execution_name(request.execution)
    logger.append_keys(execution=execution)
    project_id = str(request.listing.get("project_id", ""))
    summary = write_report(
        RunRecords(storage, execution),
        request.listing,
        request.progress,
        history=BatchHistory(storage, project_id) if project_id else None,
        deadline=deadline_from(context, SAFETY_MARGIN_S),
    )
    if summary.progress is not None:
        logger.info("report step done", extra={"next_chunk": summary.progress.next_chunk})
        return summary.model_dump()
    metrics.add_metric("ExportJobsFailed", MetricUnit.Count, summary.totals["failed"])
    logger.info("report written", extra=summary.model_dump())
    return summary.model_dump()
