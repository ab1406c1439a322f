"""Cash assistance: programmes, cycles, entitlements, payments, reconciliation, monitoring and feedback."""
