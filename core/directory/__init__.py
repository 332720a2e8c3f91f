"""The emirate's reference data: departments, employees and agencies, kept current by the
records system.
"""
