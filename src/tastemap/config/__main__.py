"""``python -m tastemap.config readme`` / ``python -m tastemap.config check FILE...``."""
from tastemap.config import main

if __name__ == "__main__":
    raise SystemExit(main())
