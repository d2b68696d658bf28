"""The emulated AWS's own environment, whatever the user's shell holds.

A user's shell may have no AWS configuration at all (botocore then stops at ``NoRegionError``),
or a real one: a profile (which may not exist here), SSO, an ``AWS_ENDPOINT_URL`` that moto
would not recognise and so let through to the network. While the local engine runs, every
``AWS_*`` variable is set aside and replaced by a fixed region, placeholder credentials and
config files that do not exist; boto3's default session is made afresh from that and
dropped again afterwards. Everything is restored when the engine stops, so the same process
can go on to use the user's real configuration (``playment-export status``).
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager

import boto3

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
SANDBOX_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "local-engine",
    "AWS_SECRET_ACCESS_KEY": "local-engine",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    # No CRC32 of every body, sent aws-chunked, that moto then decodes and checks: in one
    # process nothing is in transit, and each copy of an 8 MiB part costs memory. A checksum
    # the code asks for explicitly is still sent and checked.
    "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
    "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
    # Objects above this size are kept in a temporary file rather than in memory.
    "MOTO_S3_DEFAULT_KEY_BUFFER_SIZE": str(1024 * 1024),
}


@contextmanager
def aws_sandbox() -> Iterator[None]:
    """Inside the block, botocore sees only the sandbox's region and placeholder credentials."""
    saved = {name: value for name, value in os.environ.items() if name.startswith("AWS_")}
    saved_moto = os.environ.get("MOTO_S3_DEFAULT_KEY_BUFFER_SIZE")
    for name in saved:
        del os.environ[name]
    os.environ.update(SANDBOX_ENVIRONMENT)
    boto3.DEFAULT_SESSION = None
    try:
        yield
    finally:
        for name in SANDBOX_ENVIRONMENT:
            os.environ.pop(name, None)
        os.environ.update(saved)
        if saved_moto is not None:
            os.environ["MOTO_S3_DEFAULT_KEY_BUFFER_SIZE"] = saved_moto
        boto3.DEFAULT_SESSION = None
