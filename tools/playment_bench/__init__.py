"""`make bench`: throughput, memory, request counts, cost and cold start, measured."""
