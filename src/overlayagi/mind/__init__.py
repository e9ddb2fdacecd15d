"""Mind: the runner that executes a frame as an explicit state machine."""
