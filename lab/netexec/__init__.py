"""netexec: one process that answers HTTP and UDP as every pod of a lab (like Kubernetes' `agnhost netexec`).

`protocol` (pure answers), `server` (the process: bind in each namespace, one
asyncio loop), `launch` (the lab's side: start it detached, ready by pidfile).
"""
