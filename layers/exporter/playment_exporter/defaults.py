"""Every default of the exporter, in one place: what the template's Parameters default to,
and what the settings, the domain and the tools assume when told nothing. A test holds each
template parameter's ``Default`` to its value here, so the two cannot drift apart."""

from typing import Final

# Where the results go
RESULTS_BUCKET_NAME: Final = ""  # "": the stack creates one
RESULTS_KMS_KEY_ARN: Final = ""  # "": SSE-S3 or the aws/s3 key
RESULTS_PREFIX: Final = ""
EXPORTS_RETENTION_DAYS: Final = 30  # days the bookkeeping under _exports/ is kept
# Playment
API_KEY_SECRET_ARN: Final = ""  # "": the stack creates an empty secret
API_KEY_SECRET_KMS_KEY_ARN: Final = ""
PLAYMENT_API_URL: Final = "https://api.playment.io/v1"
# Throughput
PAGE_WORKERS: Final = 8  # jobs of one page fetched at once by one FetchResult call
MAP_MAX_CONCURRENCY: Final = 40  # pages (child workflows) at once
FETCH_RESULT_RESERVED_CONCURRENCY: Final = ""  # "": no reservation
LISTING_STEP_JOBS: Final = 50_000  # jobs one listing step lists, at most
# Schedule and alarms
SCHEDULE_EXPRESSION: Final = "rate(1 day)"
SCHEDULE_INPUT: Final = ""  # "": the schedule is DISABLED
FULL_LISTING_DAYS: Final = 7  # an unchanged batch is listed again after this many days
ALARM_EMAIL: Final = ""

# The template's parameter names, each with the value above that is its Default.
TEMPLATE_PARAMETER_DEFAULTS: Final[dict[str, str | int]] = {
    "ResultsBucketName": RESULTS_BUCKET_NAME,
    "ResultsKmsKeyArn": RESULTS_KMS_KEY_ARN,
    "ResultsPrefix": RESULTS_PREFIX,
    "ExportsRetentionDays": EXPORTS_RETENTION_DAYS,
    "ApiKeySecretArn": API_KEY_SECRET_ARN,
    "ApiKeySecretKmsKeyArn": API_KEY_SECRET_KMS_KEY_ARN,
    "PlaymentApiUrl": PLAYMENT_API_URL,
    "PageWorkers": PAGE_WORKERS,
    "MapMaxConcurrency": MAP_MAX_CONCURRENCY,
    "FetchResultReservedConcurrency": FETCH_RESULT_RESERVED_CONCURRENCY,
    "ListingStepJobs": LISTING_STEP_JOBS,
    "FullListingDays": FULL_LISTING_DAYS,
    "ScheduleExpression": SCHEDULE_EXPRESSION,
    "ScheduleInput": SCHEDULE_INPUT,
    "AlarmEmail": ALARM_EMAIL,
}
