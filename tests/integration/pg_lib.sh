# pg_lib.sh - a PostgreSQL server of a test's own (Debian's postgresql 15):
# initdb in a temporary directory, pg_ctl on a free loopback port and a unix
# socket directory there, stopped and removed at exit. Source it after lib.sh.
#
#   start_pg        initdb + start; sets PG_PORT, PG_PW, PG_DSN (user acrt,
#                   password auth on 127.0.0.1), PGDIR
#   pg_down/pg_up   stop (fast) and start the same server again
#   psql_q SQL      runs SQL, unaligned tuples only
#
# PostgreSQL refuses to run as root: as root the server runs as user postgres
# (runuser), with its directory owned by that user.

PG_BIN=/usr/lib/postgresql/15/bin

pg_as() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_up() {
	pg_as "$PG_BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 20 \
		-o "-p $PG_PORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off" \
		start >"$PGDIR/ctl.log" 2>&1 || fail "postgres did not start" "$PGDIR/ctl.log" \
		"$PGDIR/server.log"
}

pg_down() {
	pg_as "$PG_BIN/pg_ctl" -D "$PGDIR/data" -m fast -w -t 20 stop >"$PGDIR/ctl.log" 2>&1 ||
		fail "postgres did not stop" "$PGDIR/ctl.log"
}

psql_q() {
	PGPASSWORD=$PG_PW psql -h 127.0.0.1 -p "$PG_PORT" -U acrt -d postgres -XAtq -v ON_ERROR_STOP=1 \
		-c "$1"
}

start_pg() {
	[ -x "$PG_BIN/initdb" ] || fail "postgresql 15 is not installed (scripts/install-deps.sh)"
	PGDIR=$(mktemp -d "${TMPDIR:-/tmp}/acrt-pg.XXXXXX")
	if [ "$(id -u)" = 0 ]; then chown postgres: "$PGDIR"; fi
	on_exit "pg_as '$PG_BIN/pg_ctl' -D '$PGDIR/data' -m immediate -w stop >/dev/null 2>&1; rm -rf '$PGDIR'"
	PG_PW="pw-$RANDOM$RANDOM$RANDOM"
	printf '%s\n' "$PG_PW" >"$PGDIR/pw"
	chmod 644 "$PGDIR/pw"
	pg_as "$PG_BIN/initdb" -D "$PGDIR/data" -U acrt --pwfile="$PGDIR/pw" -E UTF8 \
		--auth-local=trust --auth-host=scram-sha-256 --no-sync >"$PGDIR/initdb.log" 2>&1 ||
		fail "initdb failed" "$PGDIR/initdb.log"
	rm -f "$PGDIR/pw"
	PG_PORT=$(free_port)
	pg_up
	PG_DSN="host=127.0.0.1 port=$PG_PORT dbname=postgres user=acrt password=$PG_PW connect_timeout=5"
	export PG_DSN
}
