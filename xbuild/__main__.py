from xbuild.cli.entry import run

run()
