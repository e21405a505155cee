"""Apple Wallet: pass.json, signed .pkpass bundles, certificates (and APNs later)."""
