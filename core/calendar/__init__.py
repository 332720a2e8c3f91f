"""Time as the emirate keeps it: Hijri (Umm al-Qura) dates beside Gregorian, working days
and declared holidays, quiet hours.
"""
