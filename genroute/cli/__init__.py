"""The `genroute` command line, one module per command group. With `local`, the only place
that imports `genroute.api` or `genroute.workers`."""
