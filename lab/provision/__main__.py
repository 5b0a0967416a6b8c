import sys

from lab.provision.runner import main

sys.exit(main())
