"""The playment-export command: exit codes, output folder, incremental re-runs."""

import hashlib
import json

import pytest

from playment_cli.main import main
from playment_exporter import list_pages
from playment_simulator import (
    Catalog,
    FaultPlan,
    SimBatch,
    SimJob,
    SimProject,
    sample_catalog,
)
from tests.conftest import API_KEY

PROJECT = "demo-project"
# In-process, but in the environment of a user with no AWS configuration (the subprocess tests
# in test_command_as_users_run_it.py run the installed command the same way).
pytestmark = pytest.mark.usefixtures("scrubbed_aws_environment")


@pytest.fixture
def with_key(monkeypatch):
    monkeypatch.setenv("PLAYMENT_API_KEY", API_KEY)


def run_args(simulator, out, *extra: str) -> list[str]:
    return [
        "run",
        "--api-url",
        simulator.api_url,
        "--project-id",
        PROJECT,
        "--out",
        str(out),
        *extra,
    ]


def test_run_exports_into_the_folder_and_a_rerun_is_incremental(
    start_simulator, tmp_path, with_key, capsys
) -> None:
    # Given a batch of 120 jobs, every 9th not completed
    catalog = sample_catalog(PROJECT, {"batch-a": 120})
    simulator = start_simulator(catalog)
    # When it is exported into a folder
    status = main(run_args(simulator, tmp_path, "--batch-id", "batch-a"))
    # Then the command exits 0 and the folder holds each completed job's result, byte-identical
    assert status == 0
    files = sorted((tmp_path / "batch-a").glob("*.json"))
    assert len(files) == 120 - 120 // 9
    for path in files:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest == catalog.body_sha256(PROJECT, path.stem)
    (report_path,) = tmp_path.glob("_exports/*/report.json")
    assert json.loads(report_path.read_text())["totals"]["exported"] == len(files)
    assert "SUCCEEDED" in capsys.readouterr().out
    # And the folder holds the same index a deployed stack writes: a line per job, whose key,
    # size and SHA-256 are those of the file beside it
    lines = [
        json.loads(text)
        for part in sorted(tmp_path.glob("index.v1/batch_id=batch-a/*.jsonl"))
        for text in part.read_text().splitlines()
    ]
    assert sorted(line["job_id"] for line in lines) == sorted(path.stem for path in files)
    for line in lines:
        body = (tmp_path / line["key"]).read_bytes()
        assert (line["size"], line["sha256"]) == (len(body), hashlib.sha256(body).hexdigest())
    # When it runs again into the same folder / Then nothing is downloaded again
    downloads = simulator.stats.requests["storage"]
    assert main(run_args(simulator, tmp_path, "--batch-id", "batch-a")) == 0
    assert simulator.stats.requests["storage"] == downloads


def test_failed_jobs_exit_1_and_the_report_names_them(
    start_simulator, tmp_path, with_key, capsys
) -> None:
    # Given a batch with one job whose result is not JSON
    catalog = sample_catalog(PROJECT, {"batch-a": 30}, not_completed_every=0)
    faults = FaultPlan(permanent={("storage", "batch-a-job-00007"): "not_json"})
    simulator = start_simulator(catalog, faults=faults)
    # When it is exported
    status = main(run_args(simulator, tmp_path, "--batch-id", "batch-a"))
    # Then the command exits 1, says why, and the report in the folder names the job
    assert status == 1
    captured = capsys.readouterr()
    assert "ExportIncomplete" in captured.out
    assert "invalid_json" in captured.out
    assert captured.err.splitlines()[-1].startswith("playment-export: error: 1 of 30 jobs failed;")
    (report_path,) = tmp_path.glob("_exports/*/report.json")
    assert json.loads(report_path.read_text())["failed_jobs"]["count"] == 1
    (failed_list,) = report_path.parent.glob("report/failed/*.jsonl")
    failed = [json.loads(line) for line in failed_list.read_text().splitlines()]
    assert [entry["job_id"] for entry in failed] == ["batch-a-job-00007"]
    assert len(list((tmp_path / "batch-a").glob("*.json"))) == 29


def test_a_refused_key_exits_2_names_the_variable_and_writes_nothing(
    start_simulator, tmp_path, monkeypatch, capsys
) -> None:
    # Given a key the API refuses
    simulator = start_simulator()
    monkeypatch.setenv("PLAYMENT_API_KEY", "refused-key")
    out = tmp_path / "exports"
    # When an export runs / Then it exits 2 after one request, naming the variable to fix
    assert main(run_args(simulator, out, "--batch-id", "batch-a")) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "playment-export: error: Playment refused the API key in PLAYMENT_API_KEY "
        "(HTTP 401, unauthorized): check the key and set it again\n"
    )
    assert captured.out == ""
    assert sum(simulator.stats.requests.values()) == 1
    # And nothing was written: not even the output folder
    assert not out.exists()


def test_a_step_that_crashes_keeps_its_trace_in_the_log(
    start_simulator, tmp_path, with_key, monkeypatch, capsys
) -> None:
    # Given a listing step that crashes on a bug (no message of Playment's explains it)
    simulator = start_simulator(sample_catalog(PROJECT, {"batch-a": 10}))

    def crash(*_: object, **__: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(list_pages, "list_export_pages", crash)
    # When an export runs
    status = main(run_args(simulator, tmp_path, "--batch-id", "batch-a"))
    # Then it exits 1 with the error's type and message on one line, no trace on the terminal
    captured = capsys.readouterr()
    assert status == 1
    assert captured.err.splitlines()[-1] == "playment-export: error: KeyError: 'a bug'"
    assert "Traceback" not in captured.out + captured.err
    # And the log kept in OUT holds the trace, and the summary names it
    (log,) = tmp_path.glob("_exports/*/run.log")
    assert "Traceback" in log.read_text()
    assert "KeyError: 'a bug'" in log.read_text()
    assert str(log) in captured.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--batch-id", "../x"], "--batch-id: '../x' is not a valid ID"),
        (["--batch-id", "a/b"], "--batch-id: 'a/b' is not a valid ID"),
        (["--batch-id", ""], "--batch-id: '' is not a valid ID"),
        (["--batch-id", "b", "--max-concurrency", "0"], "--max-concurrency"),
        (["--batch-id", "b", "--page-workers", "99"], "--page-workers"),
    ],
)
@pytest.mark.usefixtures("with_key")
def test_bad_input_exits_2_before_any_request(
    start_simulator, tmp_path, capsys, args, message
) -> None:
    # Given a running simulator
    simulator = start_simulator()
    # When the command gets bad input
    status = main(run_args(simulator, tmp_path, *args))
    # Then it exits 2 with one clear line, and the simulator saw no request
    assert status == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("playment-export: error: ")
    assert message in error
    assert len(error.splitlines()) == 1
    assert sum(simulator.stats.requests.values()) == 0


def test_a_missing_key_or_a_bad_url_exits_2(start_simulator, tmp_path, monkeypatch, capsys) -> None:
    # Given no key in the environment / When run / Then exit 2 naming the variable
    simulator = start_simulator()
    monkeypatch.delenv("PLAYMENT_API_KEY", raising=False)
    assert main(run_args(simulator, tmp_path, "--batch-id", "b")) == 2
    assert "PLAYMENT_API_KEY" in capsys.readouterr().err
    # Given a key but an API URL that is not http(s) / Then exit 2 naming the flag
    monkeypatch.setenv("PLAYMENT_API_KEY", API_KEY)
    args = ["run", "--api-url", "ftp://x", "--project-id", "p", "--batch-id", "b", "--out", "o"]
    assert main(args) == 2
    assert "--api-url" in capsys.readouterr().err
    assert sum(simulator.stats.requests.values()) == 0


def test_help_explains_the_commands_and_exit_codes(capsys) -> None:
    # When a new user asks for help
    with pytest.raises(SystemExit) as raised:
        main(["--help"])
    # Then it names every command and what the exit codes mean
    assert raised.value.code == 0
    text = capsys.readouterr().out
    for word in ("demo", "run", "simulator", "PLAYMENT_API_KEY", "exit status"):
        assert word in text


@pytest.mark.slow
def test_demo_runs_with_nothing_to_set_up(tmp_path, capsys) -> None:
    # When the demo runs
    status = main(["demo", "--out", str(tmp_path)])
    # Then it succeeds despite its injected faults, and the results are in the folder
    assert status == 0
    assert len(list(tmp_path.glob("batch-*/*.json"))) > 300
    assert "SUCCEEDED" in capsys.readouterr().out


def test_run_all_batches_into_a_folder_then_again(
    start_simulator, tmp_path, with_key, capsys
) -> None:
    # Given a project of two batches
    simulator = start_simulator(sample_catalog(PROJECT, {"x-1": 40, "x-2": 25}))
    # When the whole project is exported, then exported again into the same folder
    assert main(run_args(simulator, tmp_path, "--all-batches")) == 0
    downloads = simulator.stats.requests["storage"]
    assert main(run_args(simulator, tmp_path, "--all-batches")) == 0
    # Then both batches are in the folder, and the second run downloaded nothing
    assert len(list((tmp_path / "x-1").glob("*.json"))) == 40 - 40 // 9
    assert len(list((tmp_path / "x-2").glob("*.json"))) == 25 - 25 // 9
    assert simulator.stats.requests["storage"] == downloads


def test_batch_ids_and_all_batches_do_not_mix(start_simulator, tmp_path, with_key, capsys) -> None:
    # When both are given / Then argparse refuses with exit 2 before anything starts
    simulator = start_simulator()
    with pytest.raises(SystemExit) as raised:
        main(run_args(simulator, tmp_path, "--all-batches", "--batch-id", "b"))
    assert raised.value.code == 2
    assert "not allowed with" in capsys.readouterr().err
    assert sum(simulator.stats.requests.values()) == 0


def test_run_include_referenced_puts_masks_beside_results(
    start_simulator, tmp_path, with_key
) -> None:
    # Given a segmentation batch whose results point at a mask and a point cloud
    jobs = tuple(SimJob(f"s{n}", referenced=("mask.png", "cloud.pcd")) for n in range(3))
    catalog = Catalog([SimProject(PROJECT, (SimBatch("seg", jobs),))])
    simulator = start_simulator(catalog)
    # When it is exported with --include-referenced
    assert main(run_args(simulator, tmp_path, "--batch-id", "seg", "--include-referenced")) == 0
    # Then each job's files are in <batch>/<job>/, byte-identical
    for n in range(3):
        for name in ("mask.png", "cloud.pcd"):
            data = (tmp_path / "seg" / f"s{n}" / name).read_bytes()
            assert hashlib.sha256(data).hexdigest() == catalog.file_sha256(PROJECT, f"s{n}", name)
