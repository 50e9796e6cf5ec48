"""Hash-chained, keyed audit log of every decision the gateway takes."""
