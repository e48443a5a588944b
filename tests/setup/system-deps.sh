#!/bin/sh
# What the tests need beyond the Python packages: Debian's chromium (the browser tests, driven by
# Playwright; never Playwright's own download) and PostgreSQL (the report store on PostgreSQL).
# Installed with apt-get when missing and we are root; otherwise one line says the one command.
missing=""
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || missing="$missing chromium"
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing="$missing postgresql"
[ -z "$missing" ] && exit 0
missing=${missing# }
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "make test: installing $missing with apt-get (browser and PostgreSQL tests; once per machine)"
  log=$(mktemp)
  if { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing; } >"$log" 2>&1; then
    rm -f "$log"
    exit 0
  fi
  echo "make test: apt-get could not install $missing (its output: $log)" >&2
  exit 1
fi
echo "make test: the tests need $missing; install it once with: sudo apt-get install -y $missing" >&2
exit 1
