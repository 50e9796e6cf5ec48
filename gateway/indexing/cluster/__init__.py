"""The 1:N gallery split across Ray actors: shards, their replicas, and the coordinator.

Only imported when the settings ask for the cluster backend (`index_backend = "ray"`), so
the embedded single-process index needs no Ray installed.
"""
