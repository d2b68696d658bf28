"""Export Playment (TELUS annotation) job results into S3.

The domain package: it knows Playment and S3, and nothing of Lambda. The handlers in
``functions/`` and the local engine in ``playment_local`` are its two callers.
"""
