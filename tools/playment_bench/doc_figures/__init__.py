"""The figures a run measures, written by that run as Markdown snippets under ``docs/figures/``.

The documentation pages include them (``--8<--``), so a page shows what the last run measured,
never a figure copied by hand. Each writer takes the figures as the run records them in its
JSON (``.bench-figures.json``, ``.scale-figures.json``, mutmut's CI/CD stats).
"""
