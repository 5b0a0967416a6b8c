import sys

from lab.elbcheck.checker import main

sys.exit(main())
