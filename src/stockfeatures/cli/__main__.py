"""`python -m stockfeatures.cli` works like the `stockfeatures` script."""

import sys

from stockfeatures.cli import main

sys.exit(main())
