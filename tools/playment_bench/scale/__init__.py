"""``make scale``: the real state machine run over large simulated projects, every Lambda
invocation's peak memory and duration and every state's size measured, held to bounds.

``python -m playment_bench.scale`` runs it; ``projects`` says what is exported, ``engine_run``
measures one export on the local engine, ``command_run`` measures ``playment-export run`` as a
user runs it, ``bounds`` says which figures fail, ``table`` prints them.
"""
