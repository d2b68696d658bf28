"""``run`` on the local driver: what the output folder remembers between runs, and the
state machine on the local engine still one flag away."""

import json

import pytest

from playment_cli.main import main
from playment_simulator import sample_catalog
from tests.conftest import API_KEY

PROJECT = "demo-project"
pytestmark = pytest.mark.usefixtures("scrubbed_aws_environment")


@pytest.fixture(autouse=True)
def with_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYMENT_API_KEY", API_KEY)


def run_args(simulator, out, *extra: str) -> list[str]:
    return ["run", "--api-url", simulator.api_url, "--project-id", PROJECT, "--out", str(out)]


def test_all_batches_twice_into_one_folder_costs_one_details_request_the_second_time(
    start_simulator, tmp_path
) -> None:
    # Given a project of three batches, exported whole into a folder
    simulator = start_simulator(sample_catalog(PROJECT, {"x-1": 40, "x-2": 25, "x-3": 12}))
    assert main([*run_args(simulator, tmp_path), "--all-batches"]) == 0
    # And the folder holds the batch history, as the bucket does on AWS
    history = json.loads((tmp_path / "_exports" / "_batch-history" / f"{PROJECT}.json").read_text())
    assert sorted(history) == ["x-1", "x-2", "x-3"]
    before = dict(simulator.stats.requests)
    # When the same command runs again over the unchanged project
    assert main([*run_args(simulator, tmp_path), "--all-batches"]) == 0
    # Then it made one request: the project's details, and no batch was listed again
    after = simulator.stats.requests
    made = {name: after[name] - before.get(name, 0) for name in after}
    assert {name: count for name, count in made.items() if count} == {"details": 1}


@pytest.mark.slow
def test_the_state_machine_engine_still_runs_the_export_into_the_folder(
    start_simulator, tmp_path, capsys
) -> None:
    # Given a batch on the simulator
    simulator = start_simulator(sample_catalog(PROJECT, {"batch-a": 30}))
    # When it is exported with the state machine on the local engine
    args = [*run_args(simulator, tmp_path), "--batch-id", "batch-a", "--engine", "state-machine"]
    assert main(args) == 0
    # Then the results are in the folder, and the run's trace is moto's engine log
    assert len(list((tmp_path / "batch-a").glob("*.json"))) == 30 - 30 // 9
    assert list(tmp_path.glob("_exports/*/engine.log"))
    assert "SUCCEEDED" in capsys.readouterr().out
