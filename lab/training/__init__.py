"""Hands-on training: graded break/fix and exploration exercises on a running lab.

An exercise is data in a folder of its own (training/<id>/: exercise.yaml,
briefing.md, solution.md, optional hooks.py); its break is a fault of the
shared catalogue (lab.render.faults), so whatever an exercise breaks, `check`
detects. The trainee's record is an append-only file of events, from which
status and the classroom report are computed.
"""
