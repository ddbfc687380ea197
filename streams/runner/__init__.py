"""The embedded runner: `refmon run`, in-process, over JSON Lines."""
