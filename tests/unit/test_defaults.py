"""Every default lives in playment_exporter.defaults: the template's parameters, the
handlers' settings and the domain's defaults are held to it, one test per parameter."""

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from exporter_runtime.settings import FetchResultSettings, ListPagesSettings
from playment_exporter import defaults
from playment_exporter.export_options import ExportOptions
from playment_exporter.list_pages import ListingOptions
from playment_local.cfn_template import load_template

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "template.yaml"
TEMPLATE_PARAMETERS: dict[str, Any] = load_template(TEMPLATE_PATH)["Parameters"]


def test_every_template_parameter_has_its_default_in_the_single_source() -> None:
    # Given the template's parameters / Then each one, and no other, has a single-source default
    assert set(TEMPLATE_PARAMETERS) == set(defaults.TEMPLATE_PARAMETER_DEFAULTS)


@pytest.mark.parametrize("name", sorted(TEMPLATE_PARAMETERS))
def test_the_template_parameter_defaults_to_the_single_source(name: str) -> None:
    # Given one of the template's parameters
    declared = TEMPLATE_PARAMETERS[name]
    # When its Default is read as CloudFormation reads it (a Number's, as a number)
    default = declared.get("Default")
    # Then it equals the value in playment_exporter.defaults
    assert default == defaults.TEMPLATE_PARAMETER_DEFAULTS[name]
    assert isinstance(default, int) == (declared["Type"] == "Number")


@pytest.mark.parametrize(
    ("settings", "field", "single_source"),
    [
        (FetchResultSettings, "page_workers", defaults.PAGE_WORKERS),
        (FetchResultSettings, "results_prefix", defaults.RESULTS_PREFIX),
        (FetchResultSettings, "playment_api_url", defaults.PLAYMENT_API_URL),
        (ListPagesSettings, "map_max_concurrency", defaults.MAP_MAX_CONCURRENCY),
        (ListPagesSettings, "listing_step_jobs", defaults.LISTING_STEP_JOBS),
        (ListPagesSettings, "full_listing_days", defaults.FULL_LISTING_DAYS),
    ],
)
def test_a_handler_told_nothing_assumes_the_single_source(
    settings: Any, field: str, single_source: object
) -> None:
    # Given a handler's settings field that a template parameter sets / Then its default is
    # the single source's
    assert settings.model_fields[field].default == single_source


def test_the_domain_told_nothing_assumes_the_single_source() -> None:
    # Given the domain's own option values / Then their defaults are the single source's
    listing = {field.name: field.default for field in dataclasses.fields(ListingOptions)}
    assert listing["step_jobs"] == defaults.LISTING_STEP_JOBS
    assert listing["full_listing_days"] == defaults.FULL_LISTING_DAYS
    assert ExportOptions().workers == defaults.PAGE_WORKERS
