"""`python -m qa` is the `qa` command."""

from qa.cli import main

if __name__ == "__main__":
    main()
