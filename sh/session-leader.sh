# The session leader of a detached start (src/engine/detach.ts runs it in a new session):
#
#   sh session-leader.sh DIR_FD TMP_FD TMP_NAME PID_NAME PIPE_FD LOCK_FD KEEP_FDS COMMAND [ARGS...]
#
# It forks a subshell and exits at once, so the daemon is in the new session without leading it
# (Stevens' double fork). The subshell, whose pid the command keeps across exec:
#   1. writes the pid file atomically: "PID\nSTARTTIME\n" (the start time being field 22 of
#      /proc/PID/stat; the format src/pidfile/format.ts defines) into the temporary file
#      the caller created exclusively and holds open at TMP_FD, then renames TMP_NAME to PID_NAME
#      in the pid file's directory, held open at DIR_FD. Both are reached through /proc/self/fd,
#      never by a path another user could swap (src/base/safe-path.ts);
#   2. closes every fd but 0-2, PIPE_FD, LOCK_FD and KEEP_FDS: the caller marks inherited fds
#      close-on-exec, but a thread of Node's own may open a file without O_CLOEXEC at any moment,
#      and only the child can close such a leak for sure (dash cannot name fds above 9; bash can);
#   3. writes its pid and a newline to PIPE_FD, closes PIPE_FD and LOCK_FD, and execs COMMAND with
#      DAEMONOCLE_SERVICE=PID-STARTTIME in its environment: the service's marker, inherited by every
#      descendant (src/process/service.ts finds the whole service by it).
# LOCK_FD is '-' when no lock is held; KEEP_FDS is a space-separated list, maybe empty.
# The umask and the working directory are the ones it was started with (src/engine/spawn.ts sets
# them for every spawn); the command inherits them.
# Exit 125 from the subshell: bad arguments or an unwritable pid file; the command never ran.

dir=$1 tmpfd=$2 tmpname=$3 pidname=$4 pipe=$5 lock=$6 keep=$7
case "$dir:$tmpfd:$pipe:$lock" in
  *[!0-9:-]* | :* | *: | *::* ) echo "daemonocle: bad session leader arguments" >&2; exit 125 ;;
esac
case "$tmpname/$pidname" in
  */*/* | /* | */ ) echo "daemonocle: bad session leader arguments" >&2; exit 125 ;;
esac
shift 7
(
  read -r stat < /proc/self/stat || exit 125
  pid=${stat%% *}
  starttime() { shift 19; starttime=$1; }
  # The fields after the command name, which ends at the last ')', split into words on purpose.
  # shellcheck disable=SC2086
  starttime ${stat##*)}
  at=/proc/self/fd/$dir
  if ! { printf '%s\n%s\n' "$pid" "$starttime" > "/proc/self/fd/$tmpfd" && mv -fT "$at/$tmpname" "$at/$pidname"; } 2>/dev/null; then
    rm -f "$at/$tmpname"
    echo "daemonocle: cannot write pid file $pidname" >&2
    exit 125
  fi
  for fd in /proc/self/fd/*; do
    fd=${fd##*/}
    case " 0 1 2 $pipe $lock $keep " in *" $fd "*) continue ;; esac
    # shellcheck disable=SC3028
    case $fd in [3-9]) ;; *) [ -n "$BASH_VERSION" ] || continue ;; esac
    eval "exec $fd>&-"
  done
  DAEMONOCLE_SERVICE=$pid-$starttime
  export DAEMONOCLE_SERVICE
  trap '' PIPE
  echo "$pid" >&"$pipe"
  eval "exec $pipe>&-"
  [ "$lock" = - ] || eval "exec $lock>&-"
  exec "$@"
) &
