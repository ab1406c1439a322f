"""Record linkage: finding the same person within and across agencies' lists."""
