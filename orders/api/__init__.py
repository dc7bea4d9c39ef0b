"""The station JSON API (DRF): placing and reading orders, scoped to the user's station."""
