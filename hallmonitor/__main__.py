from hallmonitor.cli import main

main()
