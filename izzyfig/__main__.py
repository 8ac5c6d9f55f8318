from izzyfig.cli import main

raise SystemExit(main())
