"""The ``playment-export`` command line: argument parsing, progress and summaries only; the
work is done by the local engine, the simulator and the deployed-stack client it calls."""
