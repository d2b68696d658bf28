"""Check a built Lambda layer's Python packages hang together (run by make check-template).

    python tools/template_checks/check_layer_sdk.py .aws-sam/build/ExporterLayer/python

On Lambda the layer's /opt/python comes before the runtime's own packages, so a layer that
carries part of the AWS SDK (botocore, say, as a dependency of aws-xray-sdk) silently pairs
it with the runtime's copy of the rest. This fails when:
- boto3, botocore and s3transfer are not all in the layer or all out of it;
- a distribution in the layer requires another that is missing, or at a version outside
  the range it asks for (extras are not followed: they were chosen when the layer was built).
Markers are evaluated for the Lambda runtime the layer targets (python3.12 on arm64 Linux).
"""

import argparse
import sys
from email.parser import HeaderParser
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

SDK = ("boto3", "botocore", "s3transfer")
# The marker environment of the python3.12 runtime on arm64, whatever machine runs the check.
LAMBDA_ENVIRONMENT = {
    "implementation_name": "cpython",
    "implementation_version": "3.12.0",
    "os_name": "posix",
    "platform_machine": "aarch64",
    "platform_python_implementation": "CPython",
    "platform_release": "",
    "platform_system": "Linux",
    "platform_version": "",
    "python_full_version": "3.12.0",
    "python_version": "3.12",
    "sys_platform": "linux",
    "extra": "",
}


def installed(site: Path) -> dict[str, tuple[Version, list[str]]]:
    """Each distribution in ``site``: its version and its Requires-Dist lines."""
    found: dict[str, tuple[Version, list[str]]] = {}
    for metadata_file in sorted(site.glob("*.dist-info/METADATA")):
        headers = HeaderParser().parsestr(metadata_file.read_text(encoding="utf-8"))
        name = canonicalize_name(headers["Name"])
        found[name] = (Version(headers["Version"]), headers.get_all("Requires-Dist") or [])
    return found


def problems(site: Path) -> list[str]:
    found = installed(site)
    if not found:
        return [f"{site}: no *.dist-info found (not a built layer's python/ folder?)"]
    errors: list[str] = []
    present = [name for name in SDK if name in found]
    if present and len(present) != len(SDK):
        missing = [name for name in SDK if name not in found]
        errors.append(
            f"the layer has {', '.join(present)} but not {', '.join(missing)}: on Lambda "
            "the runtime's copy would run against the layer's (pin all three in "
            "layers/exporter/requirements.txt, or none)"
        )
    for name, (_, requires) in sorted(found.items()):
        for line in requires:
            try:
                requirement = Requirement(line)
            except InvalidRequirement as error:
                errors.append(f"{name}: unreadable requirement {line!r}: {error}")
                continue
            if requirement.marker is not None and not requirement.marker.evaluate(
                LAMBDA_ENVIRONMENT
            ):
                continue
            wanted = canonicalize_name(requirement.name)
            if wanted not in found:
                errors.append(f"{name} requires {requirement}, which is not in the layer")
            elif not requirement.specifier.contains(found[wanted][0], prereleases=True):
                errors.append(
                    f"{name} requires {requirement}, the layer has {wanted} {found[wanted][0]}"
                )
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="the layer's python/ folder, as built")
    site: Path = parser.parse_args(argv).site
    if not site.is_dir():
        print(f"error: {site} is not a folder (run sam build first)", file=sys.stderr)
        return 1
    errors = problems(site)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    if errors:
        return 1
    found = installed(site)
    sdk = [f"{name} {found[name][0]}" for name in SDK if name in found]
    print(f"{site}: requirements met inside the layer; AWS SDK: {', '.join(sdk) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
