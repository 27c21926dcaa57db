"""The `wuffchat` command line (entry point `wuffchat_client.cli.main:main`)."""
