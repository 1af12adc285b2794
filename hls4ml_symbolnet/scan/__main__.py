"""Entry point of `python -m hls4ml_symbolnet.scan`."""

from hls4ml_symbolnet.scan.cli import main

raise SystemExit(main())
