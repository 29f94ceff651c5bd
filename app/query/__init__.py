"""The TMF630 query model: parse, compile to SQL (both dialects), evaluate in Python (hub filters)."""
