"""The Kafka worker: a client-free core (core.py), the aiokafka runtime around it (runtime.py)."""
