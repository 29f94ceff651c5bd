"""Tables, engines and pools per Settings; backends import the interface (base), `factory` picks one."""
