"""The layer carries the AWS SDK whole: tools/template_checks/check_layer_sdk.py and its pins.

On Lambda the layer's packages come before the runtime's: a layer with botocore but not
boto3 and s3transfer pairs the runtime's boto3 with the layer's botocore. `make
check-template` runs the check on the layer sam build made; these tests run it on made-up
layers, and hold the layer's SDK pins to the versions the tests themselves run on.
"""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "tools" / "template_checks" / "check_layer_sdk.py"
LAYER_REQUIREMENTS = ROOT / "layers" / "exporter" / "requirements.txt"
LOCK = ROOT / "uv.lock"
SDK = ("boto3", "botocore", "s3transfer")
PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)", re.MULTILINE)

# Name -> (version, Requires-Dist lines), as the real distributions declare them.
BOTOCORE = ("1.44.5", ["jmespath<2.0.0,>=0.7.1", "urllib3!=2.2.0,<3,>=1.25.4"])
BOTO3 = ("1.44.5", ["botocore<1.45.0,>=1.44.5", "jmespath<2.0.0,>=0.7.1", "s3transfer<0.20,>=0.19"])
S3TRANSFER = ("0.19.3", ["botocore<2.0a.0,>=1.37.4", "botocore[crt]>=1.37.4; extra == 'crt'"])
BASE = {
    "jmespath": ("1.1.0", []),
    "urllib3": ("2.8.0", ["brotli>=1.0.9; extra == 'brotli'"]),
    "aws-xray-sdk": ("2.15.0", ["wrapt", "botocore>=1.11.3"]),
    "wrapt": ("2.5.2", []),
    "tenacity": ("9.2.1", ["tornado>=4.5; extra == 'doc'", "colorama; sys_platform == 'win32'"]),
}


def _site(tmp_path: Path, distributions: dict[str, tuple[str, list[str]]]) -> Path:
    """A layer's python/ folder holding just these distributions' metadata."""
    site = tmp_path / "python"
    for name, (version, requires) in distributions.items():
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
        lines += [f"Requires-Dist: {requirement}" for requirement in requires]
        (info / "METADATA").write_text("\n".join(lines) + "\n\n")
    return site


def _check(site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK), str(site)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_botocore_without_boto3_and_s3transfer_fails(tmp_path: Path) -> None:
    # Given the layer as it was: aws-xray-sdk brought botocore, nothing brought boto3
    site = _site(tmp_path, {**BASE, "botocore": BOTOCORE})

    # When checked / Then it fails, naming what is missing and where to pin it
    done = _check(site)
    assert done.returncode == 1
    assert "has botocore but not boto3, s3transfer" in done.stderr
    assert "layers/exporter/requirements.txt" in done.stderr


def test_the_whole_sdk_at_matching_versions_passes(tmp_path: Path) -> None:
    # Given boto3, botocore and s3transfer, each in the range the others ask for
    site = _site(tmp_path, {**BASE, "botocore": BOTOCORE, "boto3": BOTO3, "s3transfer": S3TRANSFER})

    # When checked / Then it passes (extras and other platforms' markers are not followed)
    done = _check(site)
    assert done.returncode == 0, done.stderr
    assert "AWS SDK: boto3 1.44.5, botocore 1.44.5, s3transfer 0.19.3" in done.stdout


def test_a_layer_without_any_of_the_sdk_passes(tmp_path: Path) -> None:
    # Given a layer that leaves the whole SDK to the runtime
    site = _site(tmp_path, {"jmespath": BASE["jmespath"]})

    # When checked / Then that is consistent too
    done = _check(site)
    assert done.returncode == 0, done.stderr
    assert "AWS SDK: none" in done.stdout


def test_a_botocore_outside_boto3s_range_fails(tmp_path: Path) -> None:
    # Given the three, but a botocore newer than the boto3 accepts
    site = _site(
        tmp_path,
        {**BASE, "botocore": ("1.45.1", BOTOCORE[1]), "boto3": BOTO3, "s3transfer": S3TRANSFER},
    )

    # When checked / Then the mismatch is named
    done = _check(site)
    assert done.returncode == 1
    assert "boto3 requires botocore<1.45.0,>=1.44.5, the layer has botocore 1.45.1" in done.stderr


def test_a_requirement_missing_from_the_layer_fails(tmp_path: Path) -> None:
    # Given a distribution whose own requirement is not in the layer
    site = _site(tmp_path, {"aws-xray-sdk": BASE["aws-xray-sdk"], "wrapt": BASE["wrapt"]})

    # When checked / Then it fails on it
    done = _check(site)
    assert done.returncode == 1
    assert "aws-xray-sdk requires botocore>=1.11.3, which is not in the layer" in done.stderr


def _pins(path: Path) -> dict[str, str]:
    text = re.sub(r"#.*", "", path.read_text(encoding="utf-8"))
    return {name.lower(): version for name, version in PIN.findall(text)}


def _locked(path: Path) -> dict[str, str]:
    """uv.lock's version of each package (the tests' environments are synced from it)."""
    lock = tomllib.loads(path.read_text(encoding="utf-8"))
    return {package["name"]: package["version"] for package in lock["package"]}


@pytest.mark.parametrize("name", SDK)
def test_the_layer_pins_the_sdk_the_tests_run_on(name: str) -> None:
    # Given the layer's requirements and the lock the test environments are synced from
    layer, tested = _pins(LAYER_REQUIREMENTS), _locked(LOCK)

    # Then the layer pins each of boto3, botocore and s3transfer, at the tested version
    assert name in layer, f"{name} is not pinned in {LAYER_REQUIREMENTS}"
    assert layer[name] == tested[name]


def test_every_layer_pin_is_the_version_the_tests_run_on() -> None:
    # Given the layer's requirements and the lock the test environments are synced from
    layer, tested = _pins(LAYER_REQUIREMENTS), _locked(LOCK)

    # Then each package the layer pins is locked at that same version (`make lock` may move
    # the lock: the layer's pins must then follow)
    assert layer, f"no pin read from {LAYER_REQUIREMENTS}"
    differing = {
        name: (pin, tested.get(name)) for name, pin in layer.items() if tested.get(name) != pin
    }
    assert not differing, f"layer pin vs uv.lock: {differing}"
