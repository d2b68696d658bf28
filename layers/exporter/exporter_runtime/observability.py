"""The one Logger, Metrics and Tracer of every handler; configured by POWERTOOLS_* variables.

The tracer patches boto3 only: patching the HTTP libraries would record full URLs, and a signed
URL's query string is a credential. Handlers never capture responses (they hold job lists).
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
metrics = Metrics()
tracer = Tracer(patch_modules=["boto3", "botocore"])
