#!/bin/sh
# Run every test suite; see tests/run.py.
exec python3 "$(dirname "$0")/run.py" "$@"
