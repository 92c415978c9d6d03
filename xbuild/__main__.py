from xbuild.cli.main import run

run()
