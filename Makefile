# The two commands README.md starts with.
.PHONY: dev test bench

dev:
	scripts/dev.sh

test:
	scripts/test.sh

bench:
	bench/run.sh
