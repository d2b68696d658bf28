"""Every way a user's run can go wrong ends in one line that says what to do.

Each test runs the installed ``playment-export`` in a process of its own, in a shell with no
AWS configuration (``user_shell``), and checks what a user meets: the exit status, stderr with
no traceback, no library warning and one error line naming what is wrong (the path, the URL,
the ID), and that nothing partial is left behind.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from playment_simulator import Catalog, FaultPlan, SimBatch, SimJob, SimProject, sample_catalog
from tests.conftest import API_KEY
from tests.e2e.conftest import COMMAND, run_command, user_shell

PROJECT = "demo-project"
ERROR = "playment-export: error: "
PROGRESS = "playment-export: progress: "
UNREACHABLE_BOUND_S = 10.0


def the_error_line(stderr: str) -> str:
    """The one error line on stderr, once nothing else is there but progress lines: no trace,
    no library warning, no logging error."""
    for noise in ("Traceback", "Warning", "--- Logging error ---"):
        assert noise not in stderr, stderr
    (line,) = [line for line in stderr.splitlines() if not line.startswith(PROGRESS)]
    assert line.startswith(ERROR), line
    return line[len(ERROR) :]


def run_args(api_url: str, out: Path, *extra: str) -> list[str]:
    return ["run", "--api-url", api_url, "--project-id", PROJECT, "--out", str(out), *extra]


def results_in(out: Path, catalog: Catalog, batch_id: str) -> list[str]:
    """The job IDs of the results in OUT, each checked byte for byte against the API's."""
    found = []
    for path in sorted((out / batch_id).iterdir()):
        assert path.suffix == ".json", path
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest == catalog.body_sha256(PROJECT, path.stem), path
        found.append(path.stem)
    return found


def partial_files(out: Path) -> list[Path]:
    """What a write cut short would leave: a ``.part`` file, the staging folder."""
    return [
        path for path in out.rglob("*") if path.name.endswith(".part") or path.name == ".incoming"
    ]


def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return int(listener.getsockname()[1])


# -- --out ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("{tmp}/a-file", "{out} is a file, not a folder"),
        ("{tmp}/a-file/exports", "{tmp}/a-file is a file, so {out} cannot be made in it"),
        ("/proc/exports", "{out} cannot be made: nothing can be created there"),
        ("/sys/kernel/exports", "{out} cannot be made: (not permitted|permission denied)"),
    ],
)
def test_an_unusable_out_exits_2_before_any_request_naming_the_path(
    start_simulator, tmp_path, where, expected
) -> None:
    # Given a file where the folder should be (or above it), or a place nothing can be made
    simulator = start_simulator()
    (tmp_path / "a-file").write_text("mine")
    out = Path(where.format(tmp=tmp_path))
    # When the command is asked to write there
    done = run_command(run_args(simulator.api_url, out, "--batch-id", "batch-a"),
                       user_shell(tmp_path))  # fmt: skip
    # Then it exits 2 with one line naming the path and why, before any request
    assert done.returncode == 2, done.stdout + done.stderr
    line = the_error_line(done.stderr)
    pattern = "--out: " + re.escape(expected.format(tmp=tmp_path, out=out).split(" (")[0])
    if "(" in expected:
        pattern += " (not permitted|permission denied)"
    assert re.fullmatch(pattern, line), line
    assert done.stdout == ""
    assert sum(simulator.stats.requests.values()) == 0
    # And nothing was made: the file is as it was, and no folder appeared
    assert (tmp_path / "a-file").read_text() == "mine"
    assert not out.is_dir()


def test_an_out_whose_records_folder_is_a_file_exits_2(start_simulator, tmp_path) -> None:
    # Given an output folder with a file named _exports, where runs keep their records
    simulator = start_simulator()
    out = tmp_path / "exports"
    out.mkdir()
    (out / "_exports").write_text("mine")
    # When the command is asked to write there
    done = run_command(run_args(simulator.api_url, out, "--batch-id", "batch-a"),
                       user_shell(tmp_path))  # fmt: skip
    # Then it exits 2 naming the file, before any request, and leaves the folder as it was
    assert done.returncode == 2, done.stdout + done.stderr
    assert the_error_line(done.stderr) == (
        f"--out: {out / '_exports'} is a file, where the runs keep their records"
    )
    assert sum(simulator.stats.requests.values()) == 0
    assert [path.name for path in out.iterdir()] == ["_exports"]


# -- a full disk ---------------------------------------------------------------------------

# The writer running out of space after this many files, where no test can mount a tmpfs.
SIMULATED_FULL_AFTER = 300
SIMULATED_FULL_DISK = f"""
import errno, sys, threading
from playment_cli.main import main
from playment_exporter import storage_folder

written, lock, copy = [0], threading.Lock(), storage_folder._copy

def copy_until_full(body, file):
    with lock:
        written[0] += 1
        full = written[0] > {SIMULATED_FULL_AFTER}
    if full:
        file.write(b"{{")
        raise OSError(errno.ENOSPC, "No space left on device")
    copy(body, file)

storage_folder._copy = copy_until_full
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path | None]:
    """A 2 MiB tmpfs, or None where this machine lets no test mount one."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mount = shutil.which("mount")
    if os.geteuid() != 0 or mount is None:
        yield None
        return
    made = subprocess.run(
        [mount, "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if made.returncode != 0:
        yield None
        return
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def big_batch(jobs: int) -> Catalog:
    batch = SimBatch("big", tuple(SimJob(f"big-{n:05d}") for n in range(jobs)))
    return Catalog([SimProject(PROJECT, (batch,))])


def test_a_full_disk_stops_the_run_with_whole_files_and_one_line(
    start_simulator, tmp_path, small_disk
) -> None:
    # Given 1,200 jobs (about 5 MB of results) and an output folder on a 2 MiB file system
    # (or, where no test may mount one, a writer that runs out of space after 300 files)
    catalog = big_batch(1_200)
    simulator = start_simulator(catalog)
    out = (small_disk or tmp_path) / "exports"
    args = run_args(simulator.api_url, out, "--batch-id", "big", "--max-concurrency", "1")
    env = user_shell(tmp_path)
    # When the export runs into it
    if small_disk is not None:
        done = run_command(args, env)
    else:
        done = subprocess.run(
            [sys.executable, "-c", SIMULATED_FULL_DISK, *args],
            env=env, capture_output=True, text=True, timeout=240, check=False,
        )  # fmt: skip
    # Then it stops with exit 1 and one line: what happened where, that what is written is
    # whole, and what to do
    assert done.returncode == 1, done.stdout + done.stderr
    written = results_in(out, catalog, "big")
    assert 0 < len(written) < 1_200
    assert the_error_line(done.stderr) == (
        f"no space left on the device under {out}: the {len(written)} results written are "
        "whole; free some space, then run the same command again"
    )
    # And the summary is a stopped run's, with the count of the results in the folder
    assert re.fullmatch(
        rf"Export export-\S+ stopped after \d+\.\d s: {len(written)} results written to "
        rf"{re.escape(str(out))}/, each whole\n",
        done.stdout,
    ), done.stdout
    assert partial_files(out) == []
    # When there is space again and the same command runs
    if small_disk is not None:
        subprocess.run(["mount", "-o", "remount,size=16m", str(small_disk)], check=True)
    again = run_command(args, env)
    # Then it finishes the export, fetching none of the results already there
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(results_in(out, catalog, "big")) == 1_200
    deliveries = simulator.stats.snapshot()["attachments_by_job"]
    assert all(deliveries[job_id] == 1 for job_id in written)


# -- --api-url -----------------------------------------------------------------------------


@pytest.mark.parametrize("mismatch", ["nothing listens", "https to plain http"])
def test_an_unreachable_api_fails_within_seconds_naming_the_url(
    start_simulator, tmp_path, mismatch
) -> None:
    # Given a base URL where nothing listens, or https:// to the (plain-HTTP) simulator
    simulator = start_simulator()
    if mismatch == "nothing listens":
        url, why = f"http://127.0.0.1:{closed_port()}/v1", "the connection was refused"
    else:
        url, why = simulator.api_url.replace("http://", "https://"), "the TLS handshake failed"
    out = tmp_path / "exports"
    # When the command runs against it
    began = time.monotonic()
    done = run_command(run_args(url, out, "--batch-id", "batch-a"), user_shell(tmp_path))
    took = time.monotonic() - began
    # Then it exits 2 within seconds (no minute of silent retries), naming the URL and why,
    # and pointing at the flag
    assert done.returncode == 2, done.stdout + done.stderr
    assert took < UNREACHABLE_BOUND_S
    line = the_error_line(done.stderr)
    assert line.startswith(f"--api-url: no Playment API answers at {url}: {why}"), line
    assert line.endswith("; check the URL")
    # And nothing was written
    assert not out.exists()
    assert simulator.stats.requests["details"] == 0


def test_a_base_url_without_v1_gets_a_hint(start_simulator, tmp_path) -> None:
    # Given the simulator's URL without its /v1
    simulator = start_simulator()
    base = simulator.api_url.removesuffix("/v1")
    out = tmp_path / "exports"
    # When the command runs against it
    done = run_command(run_args(base, out, "--batch-id", "batch-a"), user_shell(tmp_path))
    # Then it exits 2, saying the URL is not the API's and that it probably lacks /v1
    assert done.returncode == 2, done.stdout + done.stderr
    assert the_error_line(done.stderr) == (
        f"--api-url: {base} does not answer as the Playment API does (No route for GET "
        f"/projects/{PROJECT}/details; the base URL {base} has no version: try {base}/v1)"
    )
    assert not out.exists()


# -- IDs Playment does not know ------------------------------------------------------------


def test_an_unknown_project_exits_2_naming_the_project(start_simulator, tmp_path) -> None:
    # Given a project the API does not know
    simulator = start_simulator()
    out = tmp_path / "exports"
    args = ["run", "--api-url", simulator.api_url, "--project-id", "no-such-project"]
    # When the command runs for it
    done = run_command([*args, "--batch-id", "batch-a", "--out", str(out)], user_shell(tmp_path))
    # Then it exits 2 with one line naming the project as the project, after one request
    assert done.returncode == 2, done.stdout + done.stderr
    assert the_error_line(done.stderr) == (
        "--project-id: project 'no-such-project' not found (Playment: Project not found), "
        f"at {simulator.api_url}"
    )
    assert sum(simulator.stats.requests.values()) == 1
    assert not out.exists()


def test_an_unknown_batch_is_named_and_the_other_batches_are_exported(
    start_simulator, tmp_path
) -> None:
    # Given a project with batch-a, and a request for batch-a and a batch it does not have
    catalog = sample_catalog(PROJECT, {"batch-a": 40})
    simulator = start_simulator(catalog)
    out = tmp_path / "exports"
    args = run_args(simulator.api_url, out, "--batch-id", "batch-a", "--batch-id", "no-such")
    # When the command runs
    done = run_command(args, user_shell(tmp_path))
    # Then batch-a is exported whole
    assert len(results_in(out, catalog, "batch-a")) == 40 - 40 // 9
    # And it exits 1 with one line naming the unknown batch and its project (no library
    # warning, though the execution failed)
    assert done.returncode == 1, done.stdout + done.stderr
    (report,) = out.glob("_exports/*/report.json")
    assert the_error_line(done.stderr) == (
        f"batch no-such not found in project {PROJECT}: check --batch-id; the other batches "
        f"were exported (report: {report})"
    )
    # And the report names it, as a failed entry of its own
    assert json.loads(report.read_text())["batches_not_found"] == ["no-such"]
    (failed,) = [
        json.loads(line)
        for part in report.parent.glob("report/failed/*.jsonl")
        for line in part.read_text().splitlines()
    ]
    assert (failed["batch_id"], failed["job_id"], failed["error_code"]) == (
        "no-such",
        "",
        "batch_not_found",
    )


def test_a_listing_that_fails_for_good_is_one_line_and_leaves_out_as_it_was(
    start_simulator, tmp_path
) -> None:
    # Given a batch whose listing Playment refuses every time (a request error, not retried)
    faults = FaultPlan(permanent={("list", "batch-a"): "token_refused"})
    simulator = start_simulator(sample_catalog(PROJECT, {"batch-a": 10}), faults=faults)
    out = tmp_path / "exports"
    # When an export of it runs
    done = run_command(run_args(simulator.api_url, out, "--batch-id", "batch-a"),
                       user_shell(tmp_path))  # fmt: skip
    # Then it exits 1 with the error's type and message on one line: no trace, no moto
    # internals, no library warning
    assert done.returncode == 1, done.stdout + done.stderr
    assert the_error_line(done.stderr) == (
        "PlaymentApiError: invalid_request_error: Invalid pageToken provided"
    )
    assert "StateTaskServiceLambda" not in done.stdout + done.stderr
    # And the summary names no report, and the run left nothing: no records, no log, no folder
    assert "report.json" not in done.stdout
    assert not out.exists()


# -- the key -------------------------------------------------------------------------------


def test_a_wrong_key_names_the_variable_and_writes_nothing(start_simulator, tmp_path) -> None:
    # Given a key the API refuses
    simulator = start_simulator()
    out = tmp_path / "exports"
    env = user_shell(tmp_path, PLAYMENT_API_KEY="not-the-key-123")
    # When the command runs with it
    done = run_command(run_args(simulator.api_url, out, "--batch-id", "batch-a"), env)
    # Then it exits 2 with one line on stderr naming the variable to fix, and stdout is empty
    assert done.returncode == 2, done.stdout + done.stderr
    assert the_error_line(done.stderr) == (
        "Playment refused the API key in PLAYMENT_API_KEY (HTTP 401, unauthorized): check "
        "the key and set it again"
    )
    assert done.stdout == ""
    assert "not-the-key-123" not in done.stderr
    # And nothing was written, as the README says
    assert not out.exists()


# -- output --------------------------------------------------------------------------------


def test_piped_output_has_progress_lines_and_paths_in_one_piece(start_simulator, tmp_path) -> None:
    # Given output to pipes (no terminal), 40 columns wide as COLUMNS says, and a deep --out
    catalog = sample_catalog(PROJECT, {"batch-a": 30})
    simulator = start_simulator(catalog)
    out = tmp_path / "a-folder-with-a-long-name" / "and-another-one-below-it" / "exports"
    # When an export runs
    done = run_command(run_args(simulator.api_url, out, "--batch-id", "batch-a"),
                       user_shell(tmp_path, COLUMNS="40"))  # fmt: skip
    # Then it succeeds, the report's path is on one line of stdout, whole, to be copied
    assert done.returncode == 0, done.stdout + done.stderr
    (report,) = out.glob("_exports/*/report.json")
    assert any(str(report) in line for line in done.stdout.splitlines()), done.stdout
    # And stderr holds plain progress lines and nothing else
    lines = done.stderr.splitlines()
    assert lines
    assert all(re.fullmatch(rf"{PROGRESS}.+ \(\d+ s\)", line) for line in lines), lines


def test_verbose_logs_go_to_stderr_and_the_summary_alone_to_stdout(
    start_simulator, tmp_path
) -> None:
    # Given a batch / When it is exported with --verbose
    simulator = start_simulator(sample_catalog(PROJECT, {"batch-a": 20}))
    out = tmp_path / "exports"
    done = run_command(run_args(simulator.api_url, out, "--batch-id", "batch-a", "--verbose"),
                       user_shell(tmp_path))  # fmt: skip
    # Then the handlers' JSON logs are on stderr, and stdout holds the summary table only
    assert done.returncode == 0, done.stdout + done.stderr
    logs = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert {"listing step done", "report written"} <= {log["message"] for log in logs}
    assert not [line for line in done.stdout.splitlines() if "{" in line]
    assert "SUCCEEDED" in done.stdout


# -- help, prefixes, the simulator ---------------------------------------------------------


@pytest.mark.parametrize("command", ["", "demo", "run", "simulator", "status", "start"])
def test_every_help_page_has_an_example(tmp_path, command) -> None:
    # When a user asks for the help of the command, or of one of its commands
    done = run_command([*command.split(), "--help"], user_shell(tmp_path))
    # Then it has examples, each a command line to copy, and says how the command exits
    assert done.returncode == 0, done.stderr
    examples = done.stdout.split("\nexamples:\n", 1)[1]
    assert re.search(rf"^  playment-export {command}", examples, re.MULTILINE), examples
    assert "exit status: 0 " in " ".join(done.stdout.split())


def test_the_simulator_says_what_it_serves_and_serves_what_it_is_told(tmp_path) -> None:
    # Given the simulator's help / Then it names the project and batches it serves by default
    text = " ".join(run_command(["simulator", "--help"], user_shell(tmp_path)).stdout.split())
    assert (
        "It serves project demo-project with batches batch-a (250 jobs), batch-b (180 jobs), "
        "every 9th job not completed." in text
    )
    # When it is started with a catalogue of one's own
    process = subprocess.Popen(
        [COMMAND, "simulator", "--api-key", API_KEY, "--project-id", "p1", "--batch", "b1=3",
         "--batch", "b2=12", "--not-completed-every", "0"],
        env=user_shell(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline().strip() for _ in range(7)]
        url = banner[1].split()[-1]
        # Then its banner and its API say so
        assert banner[4:6] == ["project:     p1: b1 (3 jobs), b2 (12 jobs)",
                               "jobs:        every job completed"]  # fmt: skip
        details = requests.get(
            f"{url}/projects/p1/details", headers={"x-api-key": API_KEY}, timeout=10
        ).json()["data"]
        counts = {b["id"]: (b["total_jobs"], b["completed_jobs"]) for b in details["batches"]}
        assert counts == {"b1": (3, 3), "b2": (12, 12)}
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stdout + stderr


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["run", "--project-id", "p", "--batch-id", "b"], "the following arguments are required"),
        (["run", "--project-id", "p", "--batch-id", "a/b", "--out", "o"], "--batch-id: 'a/b'"),
        (["simulator", "--batch", "b1"], "--batch: 'b1' is not ID=JOBS"),
        (["status", "--stack-name", "s", "--limit", "0"], "--limit: must be between"),
    ],
)
def test_every_error_has_one_prefix(tmp_path, args, problem) -> None:
    # When a command is given something it cannot take
    done = run_command(args, user_shell(tmp_path))
    # Then it exits 2 and its error line, whoever found the problem, has the one prefix
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert line.startswith(f"{ERROR}{problem}"), line
    assert not (tmp_path / "o").exists()
