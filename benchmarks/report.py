"""Print a benchmark's figures and write them, with provenance, to a checksummed JSON file."""
from __future__ import annotations

from pathlib import Path


def print_and_write(name: str, args, result: dict) -> dict:
    from xrobust import resultfiles
    from xrobust.provenance import provenance

    width = max(map(len, result))
    for k, v in result.items():
        print(f"{k:>{width}}: {v}")
    config = {"benchmark": name, **{k: v for k, v in vars(args).items() if k != "out"}}
    resultfiles.write_json(Path(args.out), {"config": config, **result, "provenance": provenance(config, "cpu")})
    print(f"wrote {args.out}")
    return result
