"""Check modules, one per area. Each module registers its checks with ``conformance.checks.check``."""
