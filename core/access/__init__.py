"""Who may call the API: tokens by role (records, kiosk, staff), revocation seen by every
process.
"""
