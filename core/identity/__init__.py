"""Who a citizen is, as typed: digits of any script, national IDs (stored only as keyed
hashes), mobile numbers, e-mail addresses, masking for logs.
"""
