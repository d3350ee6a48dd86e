"""The executable specs: documented values per phase (YAML) and the checks (``specs.checks``)."""
