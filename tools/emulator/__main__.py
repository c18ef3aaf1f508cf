"""``python -m tools.emulator --port 8081``: the same as ``python -m tools.emulator.server``."""

from tools.emulator.server import main

main()
