"""Reports people read: the conformance matrix, waivers, run-to-run drift and the document check."""
