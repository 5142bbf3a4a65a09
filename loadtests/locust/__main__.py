import sys

from loadtests.locust.run import main

sys.exit(main())
