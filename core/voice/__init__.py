"""Citizen's Voice: complaints, suggestions and enquiries about any agency (not built yet).

This is where the second subsystem goes, laid out like ``core/transactions/``:
``models.py`` (cases, their events, categories and deadline policies), ``cases.py``
(the case's states and the actions each role may take), ``deadlines.py`` (acknowledge
and answer targets on ``core.calendar``), ``alarms.py`` (warnings and breaches through
``core.messaging``'s outbox) and ``service.py`` (what the gateway and channels call).
It may use ``core.platform``, ``core.identity``, ``core.calendar``, ``core.directory``,
``core.access`` and ``core.messaging``; nothing below it imports it.
"""
