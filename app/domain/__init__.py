"""The domain: the TMF resources, their rules, domain errors, ids, patch semantics and event type names."""
