"""The list prices the cost model uses: us-east-1, on-demand, no free tier, with the day
they were checked, so a reader can tell when a figure has gone stale."""

# us-east-1, on-demand list prices, no free tier. Checked on PRICES_CHECKED_ON against stored
# copies of the pages in PRICE_SOURCES (their crawl dates are not known): check them again
# before relying on the figures.
PRICE_REGION = "us-east-1"
PRICES_CHECKED_ON = "2026-11-23"
PRICE_SOURCES = (
    "https://aws.amazon.com/step-functions/pricing/",
    "https://docs.aws.amazon.com/step-functions/latest/dg/concepts-transitions.html",
    "https://aws.amazon.com/lambda/pricing/",
    "https://aws.amazon.com/s3/pricing/",
    "https://aws.amazon.com/secrets-manager/pricing/",
    "https://aws.amazon.com/cloudwatch/pricing/",
)
SFN_STANDARD_PER_TRANSITION = 0.025 / 1_000
SFN_EXPRESS_PER_REQUEST = 1.00 / 1_000_000
SFN_EXPRESS_PER_GB_SECOND = 0.00001667  # first tier (1,000 GB-hours a month)
SFN_EXPRESS_MEMORY_CHUNK_MB = 64  # memory is billed in 64 MB chunks
SFN_EXPRESS_DURATION_STEP_S = 0.1  # duration is rounded up to the next 100 ms
LAMBDA_ARM64_PER_GB_SECOND = 0.0000133334  # first tier (7.5 billion GB-seconds a month)
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
S3_STANDARD_PER_PUT = 0.005 / 1_000  # PUT, COPY, POST and LIST
S3_STANDARD_PER_GET = 0.0004 / 1_000  # GET, SELECT and the rest
SECRETS_PER_API_CALL = 0.05 / 10_000
SECRETS_PER_SECRET_MONTH = 0.40
LOGS_PER_GB_INGESTED = 0.50
CLOUDWATCH_PER_ALARM_MONTH = 0.10  # standard resolution
CLOUDWATCH_PER_METRIC_MONTH = 0.30  # first 10,000 metrics
