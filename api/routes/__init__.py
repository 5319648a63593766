"""PathName modules, one per resource."""
