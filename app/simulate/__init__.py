"""A seeded shopper simulator: a chain's stores, members, cards in wallet apps and
receipts, with campaigns whose true effect is known (`walletpass simulate`).

``model`` draws the chain (pure, reproducible from a seed); ``bulk`` writes a long
history straight into the database; ``live`` drives a running service through its
public APIs; ``population`` makes many registered cards at once for tests and benches.
"""
