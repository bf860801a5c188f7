"""zeroleague: the console command (``zeroleague ...``). Library code lives in envs/, agents/, baselines/, leagues/."""
