from collector.face.cli import main

main()
