"""Kafka adapters: settings, topics, routing, case state; shared by worker, publish and report."""
