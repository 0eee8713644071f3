from ledgerlink.cli import main

main()
