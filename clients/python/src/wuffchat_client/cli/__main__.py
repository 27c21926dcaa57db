"""`python -m wuffchat_client.cli` runs the `wuffchat` command."""

import sys

from wuffchat_client.cli.main import main

sys.exit(main())
