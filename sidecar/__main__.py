"""`python -m sidecar ...` is the same as the `parley` console script."""

from sidecar.cli import main

raise SystemExit(main())
