"""The Kafka worker: a Faust-free core (core.py) and the thin Faust shell around it (app.py)."""
