"""Fault drills of dispatch planning: real planner processes against PostgreSQL (parallel runs, SIGKILL, redelivery)."""
