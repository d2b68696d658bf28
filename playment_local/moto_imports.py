"""moto's Step Functions engine without moto's EC2 at start-up.

The engine's task factory imports ``moto.batch.utils`` for one enum (``JobStatus``), and the
package ``moto.batch`` imports its models on import, which import all of ``moto.ec2``: 0.55 s
of building instance-type and availability-zone tables, a third of the local command's
start-up, for a Batch integration the exporter's state machine never uses. ``defer_batch``
puts ``moto.batch`` in place as a module whose submodules import normally and whose own body
(``from .models import batch_backends``) runs the first time anything asks it for an
attribute: moto's Batch still works if anything ever uses it, it is just not paid for up front.
"""

import importlib.util
import sys
import threading
from types import ModuleType
from typing import Any

DEFERRED = "moto.batch"
_lock = threading.Lock()


class _DeferredPackage(ModuleType):
    """A package whose ``__init__`` runs on the first attribute it does not have yet."""

    def __getattr__(self, name: str) -> Any:
        with _lock:
            spec = self.__spec__
            if spec is not None and spec.loader is not None and not self.__dict__.get("_ran"):
                self.__dict__["_ran"] = True
                spec.loader.exec_module(self)
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}") from None


def defer_batch() -> None:
    """Make ``import moto.batch`` cheap until it is used (idempotent; process-wide)."""
    if DEFERRED in sys.modules:
        return
    spec = importlib.util.find_spec(DEFERRED)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return  # moto changed its layout: nothing deferred, nothing broken
    module = _DeferredPackage(DEFERRED)
    module.__spec__ = spec
    module.__path__ = list(spec.submodule_search_locations)
    module.__file__ = spec.origin
    module.__package__ = DEFERRED
    module.__loader__ = spec.loader
    sys.modules[DEFERRED] = module
    parent, _, child = DEFERRED.rpartition(".")
    setattr(sys.modules[parent], child, module)
