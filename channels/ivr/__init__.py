"""The toll-free line on Twilio.

``flow`` (the menus as plain Python: a call's state in, actions out), ``speech`` (what the
line says, cut into recordable phrases), ``line`` (the flow with its call store and
metrics, for any front end), ``twiml`` (actions to TwiML), ``audio`` and ``prompts`` (the
recordings `gateway prompts render` makes offline with pyttsx3). The Flask webhooks are
``gateway/ivr.py``; the staff call simulator ``gateway/call_simulator.py``.
"""
