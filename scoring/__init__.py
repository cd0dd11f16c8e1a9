"""Cluster scoring: the batch CLI's rows for a whole archive, on a Ray cluster (Ray Data), or on this machine.

Needs requirements-cluster.txt (Ray is not part of what the app installs); `python -m scoring --help`.
"""
