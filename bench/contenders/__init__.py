"""Scripts a user would write instead of Rekon, each run as its own program by
`bench/reconcile.py` (wall time, start-up included). They import nothing of Rekon's."""
