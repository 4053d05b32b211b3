"""``python -m reverse_etl``: the same entry point as the ``retl`` console script."""

from reverse_etl.cli.entry import main

if __name__ == "__main__":
    main()
