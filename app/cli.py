"""`facegen-serve`: the service under uvicorn, configured by FACEGEN_* settings (see README)."""

import logging
import sys


def main() -> int:
    import uvicorn

    from app.main import StartupError, create_app
    from app.settings import Settings

    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app = create_app(settings)
    except StartupError as exc:
        print(f"facegen: cannot start: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
