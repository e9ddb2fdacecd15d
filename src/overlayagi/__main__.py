from overlayagi.interfaces.cli import main

main()
