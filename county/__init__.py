"""The county manager's workspace: the county's day across orders, runs and statements (above every app it reads)."""
