"""Transaction follow-up: lifecycle events, inquiries and their answers, rendering, the
overdue rule, digests, bulk import, demo data.
"""
