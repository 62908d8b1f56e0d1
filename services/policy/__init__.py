"""The policy kernel: the catalog and the pure rules every service applies the same way.

A library, not a service: every service may import it and none owns it. It holds the
catalog model, its loader and presets (`catalog`), and the rules two or more services must
answer identically: coverage periods (`coverage`), renewals and associations (`renewal`),
upgrade eligibility (`eligibility`), release kinds (`releases`) and the support lifecycle
(`lifecycle`). No I/O here: callers pass what they know and get a decision back.
"""
