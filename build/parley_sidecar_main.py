"""Entry script of the packaged sidecar: the same entry point as the `parley` console script.

`parley-sidecar --version` and `parley-sidecar serve ...` behave exactly as `parley ...`.
"""

from sidecar.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
