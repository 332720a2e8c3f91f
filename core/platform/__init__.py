"""Infrastructure every feature stands on: the database and its migrations, settings
loading, leases, telemetry, translations, rate limits, errors.
"""
