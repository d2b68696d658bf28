"""The run's first request, before anything starts: is ``--api-url`` a Playment API, does it
take the key, does it know the project?

One request (the project's details) answers all three, in a second or less, and each way it
can fail is one line saying what to change, exit 2, with nothing written: a URL where nothing
listens or TLS does not match (``PlaymentUnreachable``: no retries), a URL that is not the
API's (a 404; often the base URL without ``/v1``), a key Playment refuses, a project it does
not know. A Playment that keeps failing (5xx past the client's retries) is not the input's
fault: exit 1.
"""

from playment_cli.export_flags import RunFailed, UsageError
from playment_exporter.api_models import ProjectDetails
from playment_exporter.errors import (
    PROJECT_NOT_FOUND,
    PlaymentApiError,
    PlaymentAuthError,
    PlaymentUnreachable,
    TransientError,
)
from playment_exporter.playment_client import PlaymentClient

KEY_VARIABLE = "PLAYMENT_API_KEY"


def check_api(api_url: str, api_key: str, project_id: str) -> ProjectDetails:
    """Raise ``UsageError`` (or ``RunFailed``) with the one line to print, unless the API at
    ``api_url`` takes the key and knows the project; its details, which the run then uses
    rather than asking again."""
    client = PlaymentClient(api_url, api_key, pool_size=1)
    try:
        return client.first_contact(project_id)
    except PlaymentUnreachable as error:
        raise UsageError(f"--api-url: {error}; check the URL") from None
    except PlaymentAuthError as error:
        raise UsageError(refused_key_line(error.answer)) from None
    except PlaymentApiError as error:
        if error.code == PROJECT_NOT_FOUND:
            raise UsageError(f"--project-id: {error.message}, at {api_url}") from None
        raise UsageError(
            f"--api-url: {api_url} does not answer as the Playment API does ({error.message})"
        ) from None
    except TransientError as error:
        raise RunFailed(f"Playment at {api_url} kept failing ({error}); try again later") from None
    finally:
        client.close()


def refused_key_line(answer: str | None) -> str:
    """What to say when Playment refuses the key: the command reads it from one place."""
    how = f" ({answer})" if answer else ""
    return f"Playment refused the API key in {KEY_VARIABLE}{how}: check the key and set it again"
