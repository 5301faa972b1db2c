"""``python -m mzgis``: the same as the ``mzgis`` command."""

import sys

from mzgis.gis.cli import main

if __name__ == "__main__":
    sys.exit(main())
