"""ListPages: check the export's input, page through its batches, write the manifest.

Returns totals only; the job IDs go to S3 for the distributed Map to read.
"""

from datetime import datetime
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
from exporter_runtime.settings import ListPagesSettings
from playment_exporter.api_key import read_api_key
from playment_exporter.batch_history import BatchHistory
from playment_exporter.export_request import ExportRequest
from playment_exporter.list_pages import ListingCursor, ListingOptions, list_export_pages
from playment_exporter.result_store import ResultStore
from playment_exporter.run_records import RunRecords, validate_execution_name
from playment_exporter.storage_s3 import S3Storage, StackHome

# The time kept back from the step's deadline for its writes (the chunk's manifest, settled
# and unsettled jobs: at most ListingStepJobs job IDs each) and for returning.
SAFETY_MARGIN_S = 30.0

settings = ListPagesSettings()  # read from the environment, once per container
session = aws_session()  # this container's credentials (its role's, on Lambda)
s3 = s3_client(session, max_connections=4)
storage = S3Storage(s3, settings.results_bucket, workers=2)
store = ResultStore(storage, settings.results_prefix)
secrets = secrets_provider(session)
playment = PlaymentClientCache(settings.playment_api_url, pool_size=2)


class ListPagesEvent(BaseModel):
    """From the state machine: the execution's input, name and start, and where the previous
    listing step stopped (none for the first step)."""

    model_config = ConfigDict(extra="forbid")

    input: Any
    execution: str
    started_at: datetime
    cursor: ListingCursor | None = None


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context)


def account_of(context: LambdaContext) -> str:
    """The function's account: ``arn:aws:lambda:<region>:<account>:function:<name>``."""
    return context.invoked_function_arn.split(":")[4]


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The handler's work, undecorated: mutation testing (``make mutation``) mutates only
    functions without decorators."""
    execution = validate_execution_name(event.get("execution"))
    step = ListPagesEvent.model_validate(event)
    request = ExportRequest.from_input(step.input)
    logger.append_keys(execution=execution, project_id=request.project_id)
    client = playment.for_key(read_api_key(secrets, settings.api_key_secret_arn))
    summary = list_export_pages(
        client,
        store,
        RunRecords(storage, execution),
        request,
        ListingOptions(
            max_concurrency=settings.map_max_concurrency,
            started_at=step.started_at,
            step_jobs=settings.listing_step_jobs,
            history=BatchHistory(storage, request.project_id),
            full_listing_days=settings.full_listing_days,
            deadline=deadline_from(context, SAFETY_MARGIN_S),
            check_home=storage.home_check(
                StackHome(region=settings.aws_region, account=account_of(context))
            ),
        ),
        cursor=step.cursor,
    )
    metrics.add_metric("JobsListed", MetricUnit.Count, summary.jobs_listed)
    metrics.add_metric("PagesPlanned", MetricUnit.Count, summary.pages)
    logger.info("listing step done", extra=summary.model_dump(exclude={"cursor"}))
    return summary.model_dump()
