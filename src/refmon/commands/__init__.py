"""One module per `refmon` subcommand: each adds its parser and runs from parsed args."""
