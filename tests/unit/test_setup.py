"""The repository's set-up: a root that shows the application, a `make help` that lists every
target, and tools/find_python.sh, which picks the interpreter each environment is made from.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIND_PYTHON = ROOT / "tools" / "find_python.sh"
MAKEFILES = (ROOT / "Makefile", ROOT / "tools" / "template_checks" / "template.mk")
MOST_ROOT_ENTRIES = 15
THIS_MINOR = f"{sys.version_info.major}.{sys.version_info.minor}"


def _find_python(*versions: str, path: str, pyenv_root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/sh", str(FIND_PYTHON), *versions],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={"PATH": path, "HOME": str(pyenv_root.parent), "PYENV_ROOT": str(pyenv_root)},
    )


def _pyenv_install(pyenv_root: Path, version: str) -> Path:
    """A pyenv-style install of this very interpreter under versions/<version>/bin."""
    bin_dir = pyenv_root / "versions" / version / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / f"python{THIS_MINOR}").symlink_to(sys.executable)
    return bin_dir


def _broken_shim(folder: Path, minor: str) -> Path:
    """What a pyenv shim is when the active pyenv version lacks pythonX.Y: found, but failing."""
    folder.mkdir(exist_ok=True)
    shim = folder / f"python{minor}"
    shim.write_text(f"#!/bin/sh\necho 'pyenv: python{minor}: command not found' >&2\nexit 127\n")
    shim.chmod(0o755)
    return folder


def test_the_root_holds_at_most_15_entries() -> None:
    # Given the files git tracks (the hidden ones, .ci/ and the dotfiles, aside)
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()

    # When they are taken by their first path segment
    entries = {path.split("/")[0] for path in tracked} - {""}
    visible = sorted(entry for entry in entries if not entry.startswith("."))

    # Then the root shows at most 15 entries
    assert visible, "git tracks no file here"
    assert len(visible) <= MOST_ROOT_ENTRIES, visible


def test_make_help_lists_every_target() -> None:
    # Given every phony target the Makefile and the file it includes declare
    declared: set[str] = set()
    for makefile in MAKEFILES:
        text = makefile.read_text(encoding="utf-8").replace("\\\n", " ")
        for names in re.findall(r"^\.PHONY:(.*)$", text, re.MULTILINE):
            declared.update(names.split())
    assert "test" in declared

    # When make help runs
    shown = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    listed = set(re.findall(r"^  make (\S+)", shown, re.MULTILINE))

    # Then it lists each of them
    assert declared <= listed, sorted(declared - listed)


def test_find_python_passes_over_a_failing_shim_to_pyenvs_install(tmp_path: Path) -> None:
    # Given a PATH whose pythonX.Y fails (a pyenv shim for another version) and pyenv's install
    shims = _broken_shim(tmp_path / "shims", THIS_MINOR)
    _pyenv_install(tmp_path / "pyenv", f"{THIS_MINOR}.1")
    newest = _pyenv_install(tmp_path / "pyenv", f"{THIS_MINOR}.10")

    # When the script looks for that version
    found = _find_python(THIS_MINOR, path=f"{shims}:/usr/bin:/bin", pyenv_root=tmp_path / "pyenv")

    # Then it names the newest install that runs, as the version and the real executable
    assert found.returncode == 0, found.stderr
    minor, executable = found.stdout.split()
    assert minor == THIS_MINOR
    assert executable == str(newest / f"python{THIS_MINOR}")


def test_find_python_takes_the_versions_in_the_order_asked(tmp_path: Path) -> None:
    # Given this interpreter as a pyenv install, and no Python 3.99 anywhere
    _pyenv_install(tmp_path / "pyenv", f"{THIS_MINOR}.0")

    # When the script is asked for 3.99 first, then this version
    found = _find_python("3.99", THIS_MINOR, path="/usr/bin:/bin", pyenv_root=tmp_path / "pyenv")

    # Then it passes over 3.99 and names this version
    assert found.returncode == 0, found.stderr
    assert found.stdout.split()[0] == THIS_MINOR


def test_find_python_fails_quietly_when_no_version_asked_runs(tmp_path: Path) -> None:
    # Given a PATH holding only a failing shim and no pyenv installs
    shims = _broken_shim(tmp_path / "shims", THIS_MINOR)

    # When the script looks for that version
    found = _find_python(THIS_MINOR, path=str(shims), pyenv_root=tmp_path / "pyenv")

    # Then it prints nothing and fails, for the Makefile to name what to install
    assert found.returncode == 1
    assert found.stdout == ""


def _make_in_copy(tmp_path: Path, target: str, path: str, lambda_version: str) -> str:
    """Run one make target in a copy of the set-up files; its output, once make has failed."""
    copy = tmp_path / "repo"
    (copy / "tools" / "template_checks").mkdir(parents=True)
    for name in ("Makefile", "tools/find_python.sh", "tools/template_checks/template.mk"):
        shutil.copy2(ROOT / name, copy / name)
    (copy / ".python-version").write_text(f"{lambda_version}\n", encoding="utf-8")
    done = subprocess.run(
        ["/usr/bin/make", "--no-print-directory", target],
        cwd=copy,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={"PATH": path, "HOME": str(tmp_path / "home")},
    )
    assert done.returncode == 2, done.stdout + done.stderr
    return done.stdout  # make's own "*** Error 2" line goes to stderr


def test_with_no_python_at_all_setup_names_what_to_install(tmp_path: Path) -> None:
    # Given a PATH whose only program is cat, so no Python of any version
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "cat").symlink_to(shutil.which("cat") or "/bin/cat")

    # When make setup runs
    said = _make_in_copy(tmp_path, "setup", str(tools), "3.12.1")

    # Then it stops with one line that names what to install
    lines = said.splitlines()
    assert len(lines) == 1, said
    assert lines[0].startswith("error: no Python 3.11, 3.12 or 3.13 found; install one")
    assert "apt-get install python3 python3-venv" in lines[0]


def test_without_lambdas_python_the_test_targets_name_it(tmp_path: Path) -> None:
    # Given a Lambda runtime version no machine has
    # When the check that make test, pytest and check-template run first runs
    said = _make_in_copy(tmp_path, "need-lambda-python", os.environ["PATH"], "3.99.0")

    # Then it stops with one line that names that version
    lines = said.splitlines()
    assert len(lines) == 1, said
    assert lines[0].startswith("error: make test needs Python 3.99, Lambda's runtime")
    assert "pyenv install 3.99" in lines[0]
