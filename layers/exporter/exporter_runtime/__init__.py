"""What the Lambda handlers share: observability, configuration, and the per-container clients.

Kept apart from the domain package, which never learns it runs in Lambda.
"""
