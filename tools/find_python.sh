#!/bin/sh
# Usage: tools/find_python.sh 3.12 [3.13 3.11 ...]
# Prints "MINOR PATH" of the first of these Python versions that runs here, in the order asked,
# or nothing (exit 1). For each version it tries pythonX.Y on PATH, then pyenv's installs of it
# (newest first): a pyenv shim on PATH fails for a version the active pyenv version is not, and
# uv does not look in pyenv's folder. PATH is the interpreter's real executable, not a shim, so
# that a venv made from it and `sam build` (which wants python3.12 on PATH) find the same one.
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
probe='import sys; print(sys.executable)'

for minor in "$@"; do
    candidates="python$minor"
    if [ -d "$pyenv_root/versions" ]; then
        installs=$(ls -d "$pyenv_root/versions/$minor".* 2>/dev/null | sort -t. -k3,3nr)
        for install in $installs; do
            candidates="$candidates $install/bin/python$minor"
        done
    fi
    for candidate in $candidates; do
        found=$("$candidate" -c "import sys; assert sys.version_info[:2] == tuple(map(int, '$minor'.split('.'))); $probe" 2>/dev/null) || continue
        [ -n "$found" ] && { echo "$minor $found"; exit 0; }
    done
done
exit 1
