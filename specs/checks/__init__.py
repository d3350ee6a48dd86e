"""Check modules, one per area; each registers its checks with ``conformance.checks.check``."""
