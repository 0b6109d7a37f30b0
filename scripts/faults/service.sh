#!/usr/bin/env bash
# Fault commands for scenarios (faults: run/then): restarts, stops or starts one of the
# backends on this machine, as scripts/setup-services.sh runs them, and returns once the
# change has happened (a started service answers, a stopped one no longer does).
#
#   bash scripts/faults/service.sh restart|stop|start postgres|redis|mariadb
#
# Under docker compose the same faults are `docker compose restart postgres` and so on.
set -euo pipefail
action=${1:-} service=${2:-}
usage() { echo "usage: $0 restart|stop|start postgres|redis|mariadb" >&2; exit 64; }
case $action in restart|stop|start) ;; *) usage ;; esac

down() { ! up; }
until_true() { # what, command...: up to 20 s
  local what=$1; shift
  for _ in $(seq 1 200); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "$service did not $what within 20 s" >&2; exit 1
}

case $service in
  postgres)
    version=$(ls /etc/postgresql | sort -V | tail -n1)
    ctl() { pg_ctlcluster --skip-systemctl-redirect "$version" main "$@"; }
    up() { pg_isready -h 127.0.0.1 -p 5432 -q; }
    case $action in
      restart) ctl restart -m fast ;;
      stop) ctl stop -m fast ;;
      start) ctl start ;;
    esac
    ;;
  redis)
    up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }
    stop() { redis-cli -h 127.0.0.1 -p 6379 shutdown nosave >/dev/null 2>&1 || true; }
    start() {
      redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no >/dev/null
    }
    case $action in
      restart) stop; until_true stop down; start ;;
      stop) stop ;;
      start) start ;;
    esac
    ;;
  mariadb)
    up() { mysqladmin -h 127.0.0.1 -uroot ping; }
    stop() { mysqladmin -h 127.0.0.1 -uroot shutdown >/dev/null 2>&1 || true; }
    start() { start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql; }
    case $action in
      restart) stop; until_true stop down; start ;;
      stop) stop ;;
      start) start ;;
    esac
    ;;
  *) usage ;;
esac
if [ "$action" = stop ]; then
  until_true stop down
else
  until_true start up
fi
