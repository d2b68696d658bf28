"""tools/template_checks/check_layer_architecture.py, run by `make check-template`.

The functions run on arm64: an x86_64 extension module in the build would only fail once
deployed. These tests run the check, as make does, on folders made to hold such files.
"""

import platform
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pydantic_core
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "tools" / "template_checks" / "check_layer_architecture.py"
EM_X86_64, EM_AARCH64 = 0x3E, 0xB7


def _elf_header(machine: int, *, bits: int = 64) -> bytes:
    """The first 64 bytes of an ELF shared object (ET_DYN) for ``machine``."""
    ident = b"\x7fELF" + bytes([2 if bits == 64 else 1, 1, 1]) + bytes(9)
    return ident + struct.pack("<HHI", 3, machine, 1) + bytes(40)


def _check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK), str(root)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def _layer(tmp_path: Path) -> Path:
    """A build folder shaped like sam build's, with one aarch64 extension already in it."""
    package = tmp_path / "build" / "ExporterLayer" / "python" / "fastlib"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "_speedups.cpython-312-aarch64-linux-gnu.so").write_bytes(_elf_header(EM_AARCH64))
    return tmp_path / "build"


def test_a_build_of_aarch64_libraries_passes(tmp_path: Path) -> None:
    # Given a build whose native files are all aarch64, versioned .so and bare ELF included
    build = _layer(tmp_path)
    (build / "ExporterLayer" / "python" / "libyajl.so.2.1.0").write_bytes(_elf_header(EM_AARCH64))

    # When checked / Then it passes and says how many it looked at
    done = _check(build)
    assert done.returncode == 0, done.stderr
    assert "2 native files, all aarch64" in done.stdout


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the venv's .so files are x86_64 here")
def test_an_x86_64_library_from_this_venv_fails_the_build_by_name(tmp_path: Path) -> None:
    # Given a build that also holds pydantic_core's extension as this (x86_64) venv has it
    build = _layer(tmp_path)
    (extension,) = Path(pydantic_core.__file__).parent.glob("_pydantic_core*.so")
    copied = build / "ExporterLayer" / "python" / "pydantic_core" / extension.name
    copied.parent.mkdir()
    shutil.copy(extension, copied)

    # When checked
    done = _check(build)

    # Then it fails, naming the file and what it is
    assert done.returncode == 1
    assert f"{copied} is x86_64, not aarch64" in done.stderr
    assert "_speedups" not in done.stderr


@pytest.mark.parametrize(
    ("name", "content", "verdict"),
    [
        ("_native.cpython-312-x86_64-linux-gnu.so", _elf_header(EM_X86_64), "is x86_64"),
        ("_native.so", _elf_header(EM_AARCH64, bits=32), "is not a 64-bit little-endian ELF"),
        ("_native.so", b"not a shared object", "is not an ELF file"),
        ("helper-binary", _elf_header(EM_X86_64), "is x86_64"),
    ],
    ids=["x86_64-by-header", "32-bit", "not-elf", "elf-without-so-suffix"],
)
def test_any_native_file_that_is_not_aarch64_fails(
    tmp_path: Path, name: str, content: bytes, verdict: str
) -> None:
    # Given a build with one file that is not a 64-bit aarch64 ELF
    build = _layer(tmp_path)
    bad = build / "ExporterLayer" / "python" / "fastlib" / name
    bad.write_bytes(content)

    # When checked / Then that file is named, with what is wrong with it
    done = _check(build)
    assert done.returncode == 1
    assert f"{bad} {verdict}" in done.stderr


def test_a_missing_build_folder_fails(tmp_path: Path) -> None:
    # Given no build at all / When checked / Then it fails rather than pass on nothing
    done = _check(tmp_path / "absent")
    assert done.returncode == 1
    assert "run sam build first" in done.stderr
