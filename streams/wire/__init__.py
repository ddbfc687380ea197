"""The wire: bytes in and bytes out, one module per direction and job.

- `decode`: input bytes (a JSON line or a Kafka message) to a valid contract event, or why not;
- `translate`: a valid contract event to the engine's input (the one translation);
- `encode`: the engine's outputs (findings, the report) as the contract's JSON;
- `dead_letters`: a rejected input, kept whole with its reason: built here and only here;
- `delivery`: the compact encoding of an already-validated event between the worker's stages.

Nothing is re-exported here: importers name the module, so the direction shows.
"""
