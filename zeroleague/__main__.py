from zeroleague.cli import main

raise SystemExit(main())
