"""``python -m playment_local``: the ``playment-export`` command, for when it is not on PATH."""

from playment_local.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
