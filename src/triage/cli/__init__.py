"""Layer 6. The typer commands: parse options, call the library, print. `triage` runs `app.run`.

May import: everything.
"""
