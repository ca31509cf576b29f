# The two commands of the README: `make demo` and `make test`; `make bench` prints figures.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo lint test bench browser pdf-deps turn nginx redis janus clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP) pdf-deps
	$(BIN)/vreception demo

# Debian's Pango and a CJK font: PDF notices (WeasyPrint) print Chinese with them.
pdf-deps:
	@if ! ldconfig -p 2>/dev/null | grep -q libpangoft2 || ! fc-list 2>/dev/null | grep -qi 'noto.*cjk'; then \
	  echo "installing Debian libpango and fonts-noto-cjk for PDF notices"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk >/dev/null; \
	fi

# Debian's chromium and a CJK font for the browser tests (downloaded browsers fail here).
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi 'noto.*cjk'; then \
	  echo "installing Debian chromium and fonts-noto-cjk"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi

# Debian's coturn for the relay test (tests/calls/test_turn_relay.py) and the topology tests (tests/cluster/); the service is not enabled.
turn:
	@if [ ! -x /usr/bin/turnserver ]; then \
	  echo "installing Debian coturn"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq coturn >/dev/null; \
	fi

# Debian's nginx: the deploy/ site is checked with `nginx -t` (tests/core/test_deploy_files.py).
nginx:
	@if [ ! -x /usr/sbin/nginx ]; then \
	  echo "installing Debian nginx"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nginx >/dev/null; \
	fi

# Debian's redis-server: the topology test (tests/cluster/test_topology.py) restarts a Redis of its own.
redis:
	@if [ ! -x /usr/bin/redis-server ]; then \
	  echo "installing Debian redis-server"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server >/dev/null; \
	fi

# Debian's janus for the side-by-side media bench (bench/bench_janus.py runs its own instance);
# Debian's service (public ports, /etc/janus) is stopped and disabled.
janus:
	@if [ ! -x /usr/bin/janus ]; then \
	  echo "installing Debian janus"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq janus >/dev/null; \
	  $$SUDO systemctl disable --now janus >/dev/null 2>&1 || true; \
	fi

# ruff (pyflakes, isort, bugbear, pyupgrade) over everything; mypy over the files [tool.mypy] names
# (strict for vreception, scheduling, signaling, recordings; gradual for web).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: $(STAMP) lint browser pdf-deps turn nginx redis
	# Database and page tests on both cores, then the timed media, browser and load tests alone.
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not media" $(PYTEST_ARGS)
	$(BIN)/python -m pytest -m media $(PYTEST_ARGS)

bench: $(STAMP) janus
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info
