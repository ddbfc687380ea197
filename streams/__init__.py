"""Stream processors: the pure referral engine and the adapters around it."""
