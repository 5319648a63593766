"""`python -m genroute` is the same as the `genroute` console script."""

from genroute.cli.main import main

main()
