"""Courier route plans: build the day's routing problem, solve it in a worker process, serve routes."""
