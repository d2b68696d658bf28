"""``python -m playment_cli``: the ``playment-export`` command, for when it is not on PATH."""

from playment_cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
