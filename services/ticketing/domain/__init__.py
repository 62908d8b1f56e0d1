"""Pure domain of ticketing: business calendar, SLA, ticket lifecycle, tiers.

Nothing here does I/O or reads a clock: every instant is passed in.
"""
