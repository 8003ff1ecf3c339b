"""Weekly learning nudges: when each is due, what it says, and the ledger that sends it once."""
