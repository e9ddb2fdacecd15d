"""Memory: the store, sessions, insights, the reasoning ledger and caches.

Never imports ``mind`` or ``interfaces``; what it needs from them (a summariser, a model) is
passed in by the composition root.
"""
