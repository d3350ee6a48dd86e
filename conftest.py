"""Load the conformance plugin for runs from the repository root."""

pytest_plugins = ("conformance.plugin", "conformance.host.plugin")
