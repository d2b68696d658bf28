"""Each function under exactly its role, enforced: least privilege proven by running it.

moto enforces no Lambda role by itself. Given the template as SAM's own translator turns it
into CloudFormation (``tools/template_checks/translate_template.py``), the engine:

1. resolves each function role's inline policies (``function_role_policies``) with the
   parameters and physical names of the local stack;
2. creates those roles in moto's IAM and assumes each through moto's STS;
3. imports each function's module with its role's credentials in its environment, as Lambda
   does, so every AWS client the function makes signs with them;
4. turns moto's IAM enforcement on (``IamEnforcement``) for the engine's life: a call the role
   does not grant fails with AccessDenied, as it would on AWS.

Two principals stay unrestricted: the engine itself (creating the stack, starting executions,
reading results; it signs with the sandbox's placeholder key) and moto's Step Functions engine
(its Lambda and S3 calls sign with the fixed key ``ak``). The state machine's role is not
enforced: moto names Lambda's Invoke ``lambda:Invoke`` where IAM says ``lambda:InvokeFunction``.

Where moto's evaluation differs from AWS's for what the functions call, a seam makes it match
(moto 5.2.5, pinned; ``tests/integration/test_iam_enforcement.py`` checks the seams' shapes):

- moto evaluates every call outside S3 against the resource ``*``, so no statement naming a
  resource could allow it: Secrets Manager calls are evaluated against the secret's ARN.
- moto ignores ``StringLike`` conditions and gives identity policies no request context, so
  ``s3:prefix`` limits would never bite: an S3 call is evaluated with ``s3:prefix`` from its
  query, and ``StringLike`` compares with IAM's ``*`` and ``?`` wildcards.
- AWS managed policies (logging and X-Ray, which the functions reach through no SDK call
  locally) are not loaded into moto; a function that called CloudWatch Logs or X-Ray here
  would be refused.

Why no public API serves: moto's IAM enforcement has no switch for resource ARNs outside S3,
for ``StringLike`` or for request context; without these seams least privilege could not be
proven offline.
"""

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

from moto import settings as moto_settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.iam import access_control, policy_conditions
from moto.iam.models import iam_backends
from moto.secretsmanager.models import secretsmanager_backends
from moto.secretsmanager.responses import SecretsManagerResponse
from moto.sts.models import sts_backends

from playment_local.cfn_template import CfnTemplate

UNRESTRICTED = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
# moto's Step Functions engine signs its own calls with this key (boto_client.boto_client_for).
STEP_FUNCTIONS_ENGINE_KEY = ("ak", "sk")


@dataclass(frozen=True)
class RoleCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str

    def environment(self) -> dict[str, str]:
        """What Lambda puts in a function's environment for its role."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }


def function_role_policies(translated: CfnTemplate) -> dict[str, dict[str, dict[str, Any]]]:
    """``{function logical ID: {policy name: document}}``: each function's role's inline
    policies, resolved, from the translated template (conditional ones only if included)."""
    roles: dict[str, dict[str, dict[str, Any]]] = {}
    for name, function in translated.resources_of_type("AWS::Lambda::Function").items():
        role_ref = function["Properties"]["Role"]
        if not (isinstance(role_ref, dict) and "Fn::GetAtt" in role_ref):
            raise ValueError(f"{name}'s role is not one the template creates: {role_ref}")
        role = translated.resources[role_ref["Fn::GetAtt"][0]]
        policies = translated.resolve(role["Properties"].get("Policies", []))
        roles[name] = {policy["PolicyName"]: policy["PolicyDocument"] for policy in policies}
    return roles


class IamEnforcement:
    """Roles and users in moto's IAM, and enforcement on while the context is open."""

    def __init__(self, account_id: str, region: str) -> None:
        self._account_id = account_id
        self._region = region
        self._iam = iam_backends[account_id]["aws"]
        self._sts = sts_backends[account_id]["aws"]

    def add_unrestricted_user(self, name: str, access_key_id: str, secret: str) -> None:
        """A user that may do anything, signing with the given key (moto makes its own)."""
        self._iam.create_user(region_name=self._region, user_name=name, path="/", tags=[])
        self._iam.put_user_policy(name, "unrestricted", json.dumps(UNRESTRICTED))
        key = self._iam.create_access_key(name)
        key.access_key_id, key.secret_access_key = access_key_id, secret

    def assume_new_role(
        self, name: str, policies: Mapping[str, Mapping[str, Any]]
    ) -> RoleCredentials:
        """Create role ``name`` with ``policies`` inline, and a session of it, as Lambda's."""
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        role = self._iam.create_role(
            role_name=name,
            assume_role_policy_document=json.dumps(trust),
            path="/",
            permissions_boundary=None,
            description="",
            tags=[],
            max_session_duration="3600",
            linked_service=None,
        )
        for policy_name, document in policies.items():
            self._iam.put_role_policy(name, policy_name, json.dumps(document))
        session = self._sts.assume_role(
            region_name=self._region,
            role_session_name=name,
            role_arn=role.arn,
            policy="",
            duration=3600,
            external_id="",
        )
        return RoleCredentials(
            session.access_key_id, session.secret_access_key, session.session_token
        )

    @contextmanager
    def enforced(self) -> Iterator[None]:
        """moto's IAM enforcement on, with the seams above, for the block's duration."""
        with ExitStack() as undo:
            undo.enter_context(_attribute(access_control, "S3IAMRequest", _S3RequestInContext))
            undo.enter_context(
                _attribute(SecretsManagerResponse, "_determine_resource", _secret_arn)
            )
            undo.enter_context(
                _item(policy_conditions.CONDITION_OPERATIONS, "StringLike", _string_like)
            )
            undo.enter_context(_attribute(moto_settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0))
            undo.enter_context(_attribute(ActionAuthenticatorMixin, "request_count", 0))
            yield


class _S3RequestInContext(access_control.S3IAMRequest):
    """moto's S3 authorization, with the request's ``s3:prefix`` given to the conditions."""

    def check_action_permitted(self, resource: str) -> None:
        query = parse_qs(urlparse(self._path).query, keep_blank_values=True)
        context = {"s3:prefix": query.get("prefix", [""])[0]}
        permitted = False
        for policy in self._access_key.collect_policies():
            answer = access_control.IAMPolicy(policy).is_action_permitted(
                self._action, resource, None, context
            )
            if answer == access_control.PermissionResult.DENIED:
                self._raise_access_denied()
            permitted = permitted or answer == access_control.PermissionResult.PERMITTED
        if not permitted:
            self._raise_access_denied()


def _secret_arn(response: SecretsManagerResponse) -> str:
    """The ARN of the secret a Secrets Manager call names (``*`` if it names none)."""
    secret_id = response._get_param("SecretId")
    if not secret_id:
        return "*"
    backend = secretsmanager_backends[response.current_account][response.region]
    try:
        return str(backend.describe_secret(secret_id).arn)
    except Exception:  # noqa: BLE001 - an unknown secret: let the call itself say so
        return str(secret_id)


def _string_like(expected: str | list[str], actual: str) -> bool:
    patterns = [expected] if isinstance(expected, str) else expected
    return any(
        re.fullmatch(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), actual)
        for pattern in patterns
    )


@contextmanager
def _attribute(owner: Any, name: str, value: Any) -> Iterator[None]:
    missing = object()
    saved = owner.__dict__.get(name, missing) if isinstance(owner, type) else getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        if saved is missing:
            delattr(owner, name)
        else:
            setattr(owner, name, saved)


@contextmanager
def _item(mapping: dict[str, Any], key: str, value: Any) -> Iterator[None]:
    had, saved = key in mapping, mapping.get(key)
    mapping[key] = value
    try:
        yield
    finally:
        if had:
            mapping[key] = saved
        else:
            del mapping[key]
