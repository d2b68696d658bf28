"""Each handler's configuration, read from its environment once, into a typed object."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from playment_exporter.playment_client import DEFAULT_API_URL


class ExporterSettings(BaseSettings):
    """What every function is given by the template (see ``Globals`` in ``template.yaml``)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    results_bucket: str = Field(min_length=3)
    results_prefix: str = ""
    api_key_secret_arn: str = Field(min_length=1)
    playment_api_url: str = DEFAULT_API_URL


class FetchResultSettings(ExporterSettings):
    page_workers: int = Field(default=8, ge=1, le=64)


class ListPagesSettings(ExporterSettings):
    """``MAP_MAX_CONCURRENCY`` is the template's ``MapMaxConcurrency``: the pages are sized so
    that a small export keeps that many children busy (``page_size_for``). ``AWS_REGION`` is
    Lambda's own: the results bucket must be in it (``ResultStore.check_home``)."""

    aws_region: str = Field(min_length=1)

    map_max_concurrency: int = Field(default=40, ge=1, le=10_000)
    # The template's ListingStepJobs: jobs listed per step of the listing loop.
    listing_step_jobs: int = Field(default=50_000, ge=1, le=1_000_000)
    # The template's FullListingDays: an unchanged batch is listed again after this long.
    full_listing_days: int = Field(default=7, ge=1, le=365)
