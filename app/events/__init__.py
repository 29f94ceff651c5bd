"""Events: hub subscriptions, the outbox, the dispatcher and the live feed."""
