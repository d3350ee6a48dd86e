"""AccountabilityAtlas infrastructure conformance: spec, targets, inventory, checks, evidence."""
