"""Citizen's Voice: complaints, suggestions and enquiries about any agency, handled by the
agencies' staff against deadlines (README "Citizen's Voice").

``models.py``       categories, deadline policies, cases, their events, answers, alarms
``states.py``       the case's states and which of them run, pause or stop the clock
``tracking.py``     the tracking number (ten digits, a leading 7, a Damm check digit)
``permissions.py``  who may see and do what: role × agency × action, one table
``cases.py``        filing a case; ``actions.py`` every staff and citizen action; each
                    change an event, retimed, its notices (``notices.py``) in one commit
``deadlines.py``    the clock: policy order, working time on ``core.calendar``, pauses
                    from the events, alarm times, explanations, recomputation
``alarms.py``       the scan: warning, breach, leadership, once per (case, cycle, level);
                    ``alarm_messages.py`` one message per recipient and level
``closing.py``      answered cases close when the reopen window has passed
``queues.py``       the staff lists (inbox tabs, queue, agency and leadership lists),
                    keyset pages; ``desk.py`` and ``views.py`` what the pages show
``categories.py``   categories and policies; ``demo.py`` the demo back office
``service.py``      ``VoiceService`` (``Core.voice``): what the gateway and channels call

It may use ``core.platform``, ``core.identity``, ``core.calendar``, ``core.directory``,
``core.access`` and ``core.messaging``; nothing below it imports it.
"""
