"""Check every native library under a build folder is for arm64 (run by make check-template).

    python tools/template_checks/check_layer_architecture.py .aws-sam/build

The functions and the layer are deployed for arm64 (Graviton); an x86_64 extension module
(pydantic_core, ijson's C backend, ...) would import-fail there, and nothing else notices
before a deployed function starts. Every ``*.so`` (or ``*.so.N``) file, and any other file
that is an ELF object, must be a 64-bit little-endian ELF whose machine is aarch64 (0xB7).
Standard library only: it runs before any environment is trusted.
"""

import argparse
import re
import struct
import sys
from pathlib import Path

ELF_MAGIC = b"\x7fELF"
EM_AARCH64 = 0xB7
MACHINES = {0x03: "x86", 0x28: "arm", 0x3E: "x86_64", 0xB7: "aarch64", 0xF3: "riscv"}
SHARED_OBJECT = re.compile(r"\.so(\.\d+)*$")


def machine_of(path: Path) -> str | None:
    """The ELF machine name of ``path`` if it is a 64-bit little-endian ELF, else why not."""
    with path.open("rb") as file:
        header = file.read(20)
    if header[:4] != ELF_MAGIC:
        return "not an ELF file"
    if len(header) < 20 or header[4] != 2 or header[5] != 1:
        return "not a 64-bit little-endian ELF"
    (machine,) = struct.unpack_from("<H", header, 18)
    return None if machine == EM_AARCH64 else MACHINES.get(machine, f"machine {machine:#x}")


def native_files(root: Path) -> list[Path]:
    """Files that are shared objects by name, or ELF objects by content."""
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        if SHARED_OBJECT.search(path.name):
            found.append(path)
            continue
        with path.open("rb") as file:
            if file.read(4) == ELF_MAGIC:
                found.append(path)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="the build folder, e.g. .aws-sam/build")
    root: Path = parser.parse_args(argv).root
    if not root.is_dir():
        print(f"error: {root} is not a folder (run sam build first)", file=sys.stderr)
        return 1
    files = native_files(root)
    wrong = [(path, machine_of(path)) for path in files]
    wrong = [(path, problem) for path, problem in wrong if problem is not None]
    for path, problem in wrong:
        print(f"error: {path} is {problem}, not aarch64 (arm64)", file=sys.stderr)
    if wrong:
        return 1
    print(f"{root}: {len(files)} native files, all aarch64")
    return 0


if __name__ == "__main__":
    sys.exit(main())
