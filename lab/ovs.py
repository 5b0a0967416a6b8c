"""placeholder"""

def preflight(plan):
    raise NotImplementedError


def build(plan, journal, progress):
    raise NotImplementedError
