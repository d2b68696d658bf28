"""Load a function's ``app.py`` as Lambda would: its own module, its own environment.

Lambda gives each function a container whose environment is the template's; the handler
module reads its configuration from it once, at import. Locally, several functions share one
process and run on many threads at once, so the environment cannot be swapped per call.
Instead each function's module is imported once, under a lock, with its environment applied
for the duration of the import only; from then on it holds its configuration itself.
"""

import importlib.util
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

Handler = Callable[[Any, Any], Any]

_import_lock = threading.Lock()


@contextmanager
def temporary_environment(values: Mapping[str, str]) -> Iterator[None]:
    """``values`` set in ``os.environ`` inside the block, the previous state restored after."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def load_function_module(code_dir: Path, module: str, environment: Mapping[str, str]) -> ModuleType:
    """Import ``<code_dir>/<module>.py`` afresh under a name of its own, with ``environment``."""
    path = Path(code_dir) / f"{module}.py"
    name = f"lambda_{Path(code_dir).name}_{module}_{id(environment):x}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"no handler module at {path}")
    loaded = importlib.util.module_from_spec(spec)
    with _import_lock, temporary_environment(environment):
        spec.loader.exec_module(loaded)
    return loaded


def load_handler(code_dir: Path, handler: str, environment: Mapping[str, str]) -> Handler:
    """The callable a template's ``Handler: app.lambda_handler`` names, loaded as above."""
    module, _, function = handler.rpartition(".")
    loaded = load_function_module(code_dir, module, environment)
    entry: Handler = getattr(loaded, function)
    return entry
