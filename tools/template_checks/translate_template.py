"""Print template.yaml as SAM's own translator turns it into CloudFormation, as JSON.

    .venv-sam/bin/python tools/template_checks/translate_template.py [template.yaml]

Runs in .venv-sam (the SAM CLI's pinned translator), offline: local code locations are
replaced by placeholder S3 URIs as `sam validate` does, and no managed policy is looked up.
tests/unit/test_template_translated.py reads what SAM generates (the API's request template,
the schedule's role and dead-letter queue, the roles' policies) from this output.
"""

import json
import os
import sys
from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform

LOCAL_URIS = ("CodeUri", "ContentUri", "DefinitionUri")


class NoManagedPolicies:
    """The template names no managed policy by name; never ask IAM for their ARNs."""

    def load(self) -> dict[str, str]:
        return {}


def translate(path: Path) -> dict[str, Any]:
    # The translator wants a region for its pseudo parameters (only the partition matters).
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    template: dict[str, Any] = yaml_parse(path.read_text(encoding="utf-8"))
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        for key in LOCAL_URIS:
            if isinstance(properties.get(key), str):
                properties[key] = "s3://placeholder-bucket/placeholder-key"
    translated: dict[str, Any] = transform(template, {}, NoManagedPolicies())
    return translated


def main() -> int:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "template.yaml")
    json.dump(translate(path), sys.stdout, indent=1, sort_keys=True, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
