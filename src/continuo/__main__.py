import sys

from continuo.cli import main

sys.exit(main())
