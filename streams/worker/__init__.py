"""The Kafka worker, one job per module: app.py (lifecycle) wires the two consumer loops
(intake_loop.py, judging_loop.py, on loop.py), checkpointing, recovery, housekeeping and
the 0.1 upgrade around the client-free stages (intake.py, judge.py)."""
