"""FetchResult: export one manifest page of jobs into S3 and record what became of each.

Invoked by the distributed Map once per page. It never raises for a job's failure: outcomes
are data, written to ``_exports/<execution>/outcomes/``, for the report to gather.
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from exporter_runtime.clients import (
    PlaymentClientCache,
    aws_session,
    s3_client,
    secrets_provider,
)
from exporter_runtime.invocation import deadline_from
from exporter_runtime.observability import logger, metrics, tracer
from exporter_runtime.settings import FetchResultSettings
from playment_exporter.api_key import read_api_key
from playment_exporter.export_options import ExportOptions
from playment_exporter.export_page import export_and_record_page
from playment_exporter.outcomes import JobPage
from playment_exporter.result_store import ResultStore
from playment_exporter.run_records import RunRecords, validate_execution_name
from playment_exporter.storage_s3 import S3Storage

SAFETY_MARGIN_S = 20.0

settings = FetchResultSettings()  # read from the environment, once per container
session = aws_session()  # this container's credentials (its role's, on Lambda)
s3 = s3_client(session, max_connections=2 * settings.page_workers + 4)
storage = S3Storage(s3, settings.results_bucket, workers=settings.page_workers)
store = ResultStore(storage, settings.results_prefix)
secrets = secrets_provider(session)
playment = PlaymentClientCache(settings.playment_api_url, pool_size=settings.page_workers)


class FetchResultEvent(BaseModel):
    """One Map item: the page, plus the execution it belongs to and whether to overwrite."""

    model_config = ConfigDict(extra="forbid")

    execution: str
    overwrite: bool = False
    include_referenced: bool = False
    page: JobPage


class PageSummary(BaseModel):
    batch_id: str
    page: int
    exported: int
    skipped: int
    failed: int


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context)


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The handler's work, undecorated: mutation testing (``make mutation``) mutates only
    functions without decorators."""
    request = FetchResultEvent.model_validate(event)
    page = request.page
    records = RunRecords(storage, validate_execution_name(request.execution))
    logger.append_keys(execution=request.execution, batch_id=page.batch_id, page=page.page)
    client = playment.for_key(read_api_key(secrets, settings.api_key_secret_arn))
    outcome = export_and_record_page(
        client,
        store,
        records,
        page,
        ExportOptions(
            overwrite=request.overwrite,
            include_referenced=request.include_referenced,
            workers=settings.page_workers,
            deadline=deadline_from(context, SAFETY_MARGIN_S),
        ),
    )
    counts = outcome.counts()
    metrics.add_metric("JobsExported", MetricUnit.Count, counts["exported"])
    metrics.add_metric("JobsSkipped", MetricUnit.Count, counts["skipped"])
    metrics.add_metric("JobsFailed", MetricUnit.Count, counts["failed"])
    metrics.add_metric("BytesWritten", MetricUnit.Bytes, outcome.bytes_written)
    if counts["failed"]:
        logger.warning("page finished with failures", extra=dict(counts))
    return PageSummary(
        batch_id=page.batch_id,
        page=page.page,
        exported=counts["exported"],
        skipped=counts["skipped"],
        failed=counts["failed"],
    ).model_dump()
