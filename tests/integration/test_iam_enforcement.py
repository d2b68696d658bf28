"""The IAM enforcement the local engine runs the functions under, and its seams into moto."""

import inspect
import io
import json
import math
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto import settings as moto_settings
from moto.iam import access_control, policy_conditions
from moto.secretsmanager.responses import SecretsManagerResponse
from moto.stepfunctions.parser.asl.utils import boto_client

from playment_exporter.errors import AlreadyExported
from playment_exporter.result_store import ResultStore
from playment_exporter.storage import StorageError
from playment_exporter.storage_s3 import S3Storage
from playment_local.cfn_template import CfnTemplate
from playment_local.iam_enforcement import (
    STEP_FUNCTIONS_ENGINE_KEY,
    IamEnforcement,
    RoleCredentials,
    _string_like,
    function_role_policies,
)
from tests.conftest import REGION

ACCOUNT = "123456789012"


def allow(action: str, resource: str, **condition: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def client(service: str, credentials: RoleCredentials) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        aws_session_token=credentials.session_token,
    )


@pytest.fixture
def moto_with_iam() -> Iterator[IamEnforcement]:
    with mock_aws():
        yield IamEnforcement(ACCOUNT, REGION)


def test_a_role_reads_the_secret_it_is_granted_and_no_other(moto_with_iam) -> None:
    # Given two secrets and a role granted GetSecretValue on the first one's ARN
    secrets = boto3.client("secretsmanager", region_name=REGION)
    mine = secrets.create_secret(Name="mine", SecretString="k1")["ARN"]
    other = secrets.create_secret(Name="other", SecretString="k2")["ARN"]
    role = moto_with_iam.assume_new_role(
        "reader", {"read": allow("secretsmanager:GetSecretValue", mine)}
    )
    reader = client("secretsmanager", role)
    # When it reads both under enforcement
    with moto_with_iam.enforced():
        # Then its own is read (by ARN or by name: both are the secret's ARN to IAM)
        assert reader.get_secret_value(SecretId=mine)["SecretString"] == "k1"
        assert reader.get_secret_value(SecretId="mine")["SecretString"] == "k1"
        # And the other is refused, where moto alone would check every secret against "*"
        with pytest.raises(ClientError) as refused:
            reader.get_secret_value(SecretId=other)
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_a_listing_is_allowed_only_under_the_granted_prefix(moto_with_iam) -> None:
    # Given a role that may list the bucket under "results/" only
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="bkt")
    grant = allow("s3:ListBucket", "arn:aws:s3:::bkt", StringLike={"s3:prefix": "results/*"})
    lister = client("s3", moto_with_iam.assume_new_role("lister", {"list": grant}))
    with moto_with_iam.enforced():
        # When it lists under that prefix / Then it may
        assert lister.list_objects_v2(Bucket="bkt", Prefix="results/b1/")["KeyCount"] == 0
        # When it lists elsewhere, or everything / Then it is refused, as on AWS
        for prefix in ("_exports/", ""):
            with pytest.raises(ClientError, match="AccessDenied"):
                lister.list_objects_v2(Bucket="bkt", Prefix=prefix)


def test_an_object_action_needs_its_own_grant_on_that_key(moto_with_iam) -> None:
    # Given a role that may put objects under "results/" and nothing else
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="bkt")
    s3.put_object(Bucket="bkt", Key="results/a.json", Body=b"{}")
    writer = client(
        "s3",
        moto_with_iam.assume_new_role(
            "writer", {"put": allow("s3:PutObject", "arn:aws:s3:::bkt/results/*")}
        ),
    )
    with moto_with_iam.enforced():
        # When it writes there / Then it may; elsewhere, or a delete, is refused
        writer.put_object(Bucket="bkt", Key="results/b.json", Body=b"{}")
        with pytest.raises(ClientError, match="AccessDenied"):
            writer.put_object(Bucket="bkt", Key="_exports/x.json", Body=b"{}")
        with pytest.raises(ClientError, match="AccessDenied"):
            writer.delete_object(Bucket="bkt", Key="results/a.json")
    # And the refused delete left the object in place
    assert s3.get_object(Bucket="bkt", Key="results/a.json")["Body"].read() == b"{}"


def test_the_engine_and_step_functions_keys_stay_unrestricted(moto_with_iam) -> None:
    # Given the engine's own key and moto's Step Functions engine's key made unrestricted
    env_key = ("FOOBARKEY", "FOOBARSECRET")  # what mock_aws puts in the environment
    moto_with_iam.add_unrestricted_user("engine", *env_key)
    moto_with_iam.add_unrestricted_user("sfn", *STEP_FUNCTIONS_ENGINE_KEY)
    with moto_with_iam.enforced():
        # When each creates and lists a bucket / Then neither is refused
        for key_id, secret in (env_key, STEP_FUNCTIONS_ENGINE_KEY):
            s3 = boto3.client(
                "s3", region_name=REGION, aws_access_key_id=key_id, aws_secret_access_key=secret
            )
            s3.create_bucket(Bucket=f"bucket-{key_id.lower()}")
            assert s3.list_buckets()["Buckets"]


def test_enforcement_and_its_seams_end_with_the_block(moto_with_iam) -> None:
    # Given moto as it is before enforcement
    before = (
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT,
        access_control.S3IAMRequest,
        hasattr(SecretsManagerResponse, "_determine_resource"),
        dict(policy_conditions.CONDITION_OPERATIONS),
    )
    # When enforcement is on and then off
    with moto_with_iam.enforced():
        assert moto_settings.INITIAL_NO_AUTH_ACTION_COUNT == 0
    # Then everything is as before: the rest of the process is not enforced
    after = (
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT,
        access_control.S3IAMRequest,
        hasattr(SecretsManagerResponse, "_determine_resource"),
        dict(policy_conditions.CONDITION_OPERATIONS),
    )
    assert after == before
    assert math.isinf(before[0])


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("results/*", "results/b1/", True),
        ("results/*", "_exports/x", False),
        ("*", "", True),
        ("a?c", "abc", True),
        ("a?c", "abbc", False),
        ("a.b*", "axb", False),  # a regex character is literal to IAM
        (["x/*", "y/*"], "y/1", True),
    ],
)
def test_string_like_uses_iam_wildcards(pattern, value, matches) -> None:
    assert _string_like(pattern, value) is matches


def test_the_moto_internals_the_seams_rely_on_are_where_they_were() -> None:
    # moto 5.2.5 is pinned; if an upgrade moves these, this test names what moved.
    assert 'aws_access_key_id="ak"' in inspect.getsource(boto_client.boto_client_for)
    assert 'aws_secret_access_key="sk"' in inspect.getsource(boto_client.boto_client_for)
    check = inspect.signature(access_control.S3IAMRequest.check_action_permitted)
    assert list(check.parameters) == ["self", "resource"]
    assert "StringEquals" in policy_conditions.CONDITION_OPERATIONS
    assert "StringLike" not in policy_conditions.CONDITION_OPERATIONS  # the seam adds it
    assert not hasattr(SecretsManagerResponse, "_determine_resource")
    source = inspect.getsource(access_control.IAMPolicyStatement._check_conditions)
    assert "incoming_condition_values" in source
    assert json.loads(json.dumps(RoleCredentials("a", "b", "c").environment())) == {
        "AWS_ACCESS_KEY_ID": "a",
        "AWS_SECRET_ACCESS_KEY": "b",
        "AWS_SESSION_TOKEN": "c",
    }


@pytest.mark.parametrize("granted", [True, False], ids=["as-granted", "without-TellOwnResults"])
def test_a_retried_write_of_its_own_result_needs_fetch_results_head_grant(
    moto_with_iam, translated_template, granted
) -> None:
    # Given FetchResult's role as SAM translates template.yaml (TellOwnResults taken out, in
    # the second case), and a result this execution already wrote, as a first call of a page
    # that Step Functions then ran again
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="bkt")
    boto3.client("secretsmanager", region_name=REGION).create_secret(Name="k", SecretString="x")
    template = CfnTemplate(
        translated_template,
        physical_ids={
            "ResultsBucket": {"Ref": "bkt", "Arn": "arn:aws:s3:::bkt"},
            "ApiKeySecret": {"Ref": "arn:aws:secretsmanager:us-east-1:1:secret:k"},
        },
        pseudo={"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws"},
    )
    policies = function_role_policies(template)["FetchResultFunction"]
    if not granted:
        for document in policies.values():
            document["Statement"] = [
                s for s in document["Statement"] if s.get("Sid") != "TellOwnResults"
            ]
    s3 = client("s3", moto_with_iam.assume_new_role("fetch-result", policies))
    store = ResultStore(S3Storage(s3, "bkt"), "")
    try:
        with moto_with_iam.enforced():
            store.write_result("b1", "a", io.BytesIO(b"{}"), overwrite=False, execution="e1")
            # When the same execution writes it again, create-only
            again = io.BytesIO(b"{}")
            if granted:
                # Then it succeeds: the result is this run's, exported, not "already exported"
                store.write_result("b1", "a", again, overwrite=False, execution="e1")
            else:
                # Then asking the result which execution wrote it is refused, as on AWS
                with pytest.raises(StorageError, match="HeadObject"):
                    store.write_result("b1", "a", again, overwrite=False, execution="e1")
            # And another execution's write of it is "already exported" (once it may ask)
            with pytest.raises(AlreadyExported if granted else StorageError):
                store.write_result("b1", "a", io.BytesIO(b"{}"), overwrite=False, execution="e2")
    finally:
        store.close()
