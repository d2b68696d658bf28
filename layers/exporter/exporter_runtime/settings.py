"""Each handler's configuration, read from its environment once, into a typed object."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from playment_exporter import defaults


class ExporterSettings(BaseSettings):
    """What every function is given by the template (see ``Globals`` in ``template.yaml``)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    results_bucket: str = Field(min_length=3)
    results_prefix: str = defaults.RESULTS_PREFIX
    api_key_secret_arn: str = Field(min_length=1)
    playment_api_url: str = defaults.PLAYMENT_API_URL


class FetchResultSettings(ExporterSettings):
    page_workers: int = Field(default=defaults.PAGE_WORKERS, ge=1, le=64)


class ListPagesSettings(ExporterSettings):
    """``MAP_MAX_CONCURRENCY`` is the template's ``MapMaxConcurrency``: the pages are sized so
    that a small export keeps that many children busy (``page_size_for``). ``AWS_REGION`` is
    Lambda's own: the results bucket must be in it (``ResultStore.check_home``)."""

    aws_region: str = Field(min_length=1)

    map_max_concurrency: int = Field(default=defaults.MAP_MAX_CONCURRENCY, ge=1, le=10_000)
    # The template's ListingStepJobs: jobs listed per step of the listing loop.
    listing_step_jobs: int = Field(default=defaults.LISTING_STEP_JOBS, ge=1, le=1_000_000)
    # The template's FullListingDays: an unchanged batch is listed again after this long.
    full_listing_days: int = Field(default=defaults.FULL_LISTING_DAYS, ge=1, le=365)
