import sys

from lab.netexec.server import main

sys.exit(main())
