"""The kernel boundary: namespaces, interfaces, processes, the journal and teardown.

The only code that touches the system directly; everything above it asks it.
"""
