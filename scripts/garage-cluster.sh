#!/usr/bin/env bash
# A throwaway Garage cluster (an S3-compatible object store) on 127.0.0.1,
# for the tests of Brasa servers that share a bucket. Everything it owns
# (configs, data, logs, pids) lives under DIR.
#
#   scripts/garage-cluster.sh DIR NODES          start NODES nodes, print the assignments below
#   scripts/garage-cluster.sh --stop DIR         SIGKILL every node of DIR
#   scripts/garage-cluster.sh --kill-node DIR N  SIGKILL node N (from 1), wait until it is gone
#   scripts/garage-cluster.sh --start-node DIR N start node N again, wait until it serves S3
#   scripts/garage-cluster.sh --settle DIR       wait until the running nodes see exactly each other
#
# Starting prints, on stdout and in DIR/cluster.env (stdout carries nothing
# else, so `eval "$(scripts/garage-cluster.sh DIR 3)"` works):
#   S3_ENDPOINT=http://127.0.0.1:PORT            node 1's S3 API
#   S3_ENDPOINTS=http://127.0.0.1:PORT,...       every node's, in node order
#   AWS_ACCESS_KEY_ID=GK...  AWS_SECRET_ACCESS_KEY=...  AWS_REGION=garage  S3_BUCKET=brasa
#
# Objects are replicated on every node with 1 to 3 nodes (on 3 of them with
# more), so a 3-node cluster keeps serving with one node down.
#
# Node N runs the command in DIR/node-N.cmd (config DIR/node-N.toml), logs
# to DIR/node-N.log (appended to across restarts), its pid is in
# DIR/node-N.pid and its id (ID@ADDR) in DIR/node-N.id. The garage binary
# is $BRASA_GARAGE, else `garage` on PATH, else ~/.cargo/bin/garage
# (scripts/setup.sh installs it there). Needs curl (with --aws-sigv4) and
# python3.
set -euo pipefail

say() { echo "garage-cluster: $*" >&2; }
die() { say "$*"; exit 1; }

# How long each stage may take before the script gives up, in seconds.
START_LIMIT=30   # a process answering its local CLI
JOIN_LIMIT=30    # nodes seeing each other, the layout applied everywhere
S3_LIMIT=60      # the bucket and key usable through every node's S3 API
SETTLE_LIMIT=60  # every node noticing a killed or restarted node (see settle)
BUCKET=brasa
REGION=garage

# Settings a developer may have exported for another Garage cluster
# (GARAGE_RPC_HOST, GARAGE_RPC_SECRET, GARAGE_CONFIG_FILE, ...) would point
# the CLI at it or override this cluster's secret: drop them all.
garage_override=${BRASA_GARAGE:-}
for v in "${!GARAGE_@}"; do unset "$v"; done

find_garage() {
  if [ -n "$garage_override" ]; then
    echo "$garage_override"
  elif command -v garage >/dev/null; then
    command -v garage
  elif [ -x "$HOME/.cargo/bin/garage" ]; then
    echo "$HOME/.cargo/bin/garage"
  else
    die "garage not found (on PATH or in ~/.cargo/bin); run scripts/setup.sh"
  fi
}

# The CLI of node N: it talks to the local daemon over RPC, with the
# address and secret of node N's config.
cli() { # DIR N ARGS...
  local dir=$1 n=$2
  shift 2
  "$(<"$dir/garage.path")" -c "$dir/node-$n.toml" "$@"
}

# Polls CONDITION every 0.1 s until it holds: everything Garage does after
# a command returns (connecting, spreading a layout) happens in the
# background, so each step waits on what it needs instead of sleeping.
wait_for() { # WHAT LIMIT CONDITION...
  local what=$1 limit=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || die "$what: not after ${limit}s"
    sleep 0.1
  done
}

# The pid of node N if it is running. A pid file alone could by now name
# another process (pids are reused), so its command line must name this
# node's config before anything signals it.
node_pid() { # DIR N
  local dir=$1 n=$2 pid
  [ -f "$dir/node-$n.pid" ] || return 1
  pid=$(<"$dir/node-$n.pid")
  tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$dir/node-$n.toml" || return 1
  echo "$pid"
}

# Whether PID has exited. Killed nodes are nobody's children once this
# script has returned, and a container's init may never reap them: a zombie
# counts as gone (it holds no ports or files any more).
gone() { # PID
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) } # the name before it may contain spaces
  [[ $stat == [ZX]* ]]
}

# Fails with the end of node N's log when its process has died, so that a
# wait on it stops at once with the reason instead of timing out. (Just
# launched, it may not have become garage yet: node_pid would not know it.)
check_alive() { # DIR N
  [ -f "$1/node-$2.pid" ] && ! gone "$(<"$1/node-$2.pid")" && return 0
  say "node $2 exited; the end of $1/node-$2.log:"
  tail -n 20 "$1/node-$2.log" >&2 || true
  exit 1
}

# Starts node N in the background with its recorded command, so that a
# restart is exactly the first start. Output goes to the log, never to this
# script's stdout: whoever reads that would otherwise wait for the node to
# exit. Background jobs of a script ignore SIGINT; undoing that lets Ctrl-C
# on a test run stop its nodes too instead of leaving them running.
launch() { # DIR N
  local dir=$1 n=$2
  (
    trap - INT QUIT
    eval "exec $(<"$dir/node-$n.cmd")"
  ) >>"$dir/node-$n.log" 2>&1 </dev/null &
  echo $! >"$dir/node-$n.pid"
}

# The daemon answers its CLI: RPC is up and it has loaded its metadata.
cli_answers() { # DIR N
  check_alive "$1" "$2"
  cli "$1" "$2" node id -q >/dev/null 2>&1
}

# How many nodes (itself included) node N is connected to.
connected() { # DIR N
  cli "$1" "$2" json-api GetClusterHealth 2>/dev/null |
    grep -o '"connectedNodes": *[0-9]*' | grep -o '[0-9]*$'
}

connected_to() { # DIR N COUNT
  check_alive "$1" "$2"
  [ "$(connected "$1" "$2")" = "$3" ]
}

# Node N holds the applied layout, and all COUNT storage nodes are up in it.
layout_ready() { # DIR N COUNT
  local health
  check_alive "$1" "$2"
  health=$(cli "$1" "$2" json-api GetClusterHealth 2>/dev/null) || return 1
  grep -q '"status": *"healthy"' <<<"$health" &&
    grep -q "\"storageNodesUp\": *$3\b" <<<"$health"
}

# A signed S3 request (list the bucket) succeeds through ENDPOINT. curl
# 7.88 sends no x-amz-content-sha256 header of its own, which Garage
# requires.
s3_works() { # ENDPOINT KEY_ID SECRET
  curl -sf -o /dev/null --max-time 5 --aws-sigv4 "aws:amz:$REGION:s3" --user "$2:$3" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$1/$BUCKET?list-type=2&max-keys=1"
}

# Any HTTP answer at all from ENDPOINT (Garage's 403 to an unsigned
# request included).
http_answers() { # ENDPOINT
  curl -s -o /dev/null --max-time 2 "$1/"
}

# n random bytes as hex: the RPC secret and the S3 key.
random_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# COUNT distinct free loopback ports: the kernel picks them (bind to port
# 0), all held at once so that none repeats. They are free again when
# Garage binds them a moment later.
free_ports() { # COUNT
  python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
' "$1"
}

stop_all() { # DIR
  local f n pid pids=()
  for f in "$1"/node-*.pid; do
    [ -e "$f" ] || continue
    n=${f##*/node-}
    n=${n%.pid}
    if pid=$(node_pid "$1" "$n"); then
      kill -KILL "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
    rm -f "$f"
  done
  for pid in "${pids[@]}"; do wait_for "pid $pid exits" "$START_LIMIT" gone "$pid"; done
}

kill_node() { # DIR N
  local pid
  pid=$(node_pid "$1" "$2") || die "node $2 of $1 is not running"
  kill -KILL "$pid"
  wait_for "node $2 exits" "$START_LIMIT" gone "$pid"
  rm -f "$1/node-$2.pid"
}

# The numbers of the nodes of DIR whose process is running.
running_nodes() { # DIR
  local f m
  for f in "$1"/node-*.cmd; do
    m=${f##*/node-}
    m=${m%.cmd}
    ! node_pid "$1" "$m" >/dev/null || echo "$m"
  done
}

# Every running node is connected to exactly the running nodes: the
# others have noticed a killed node, and a restarted one is back in every
# node's view.
settled() { # DIR
  local running m
  mapfile -t running < <(running_nodes "$1")
  for m in "${running[@]}"; do
    connected_to "$1" "$m" "${#running[@]}" || return 1
  done
}

# Waits until the cluster is settled. A node keeps its connection to a
# killed peer until writing to it fails: a request written to it first
# waits for an answer that never comes, until the next write (another
# request, or the ping sent every 15 s) finds the connection dead. So for
# up to 15 s after --kill-node, requests through the other nodes can stall
# (a lone write took 8 s). Tests that want defined timings with a node
# down wait for this after --kill-node.
settle() { # DIR
  wait_for "the running nodes of $1 see exactly each other" "$SETTLE_LIMIT" settled "$1"
}

# Restarts node N and waits until it serves S3 again: its API answers and
# it and every running node are connected to each other, so requests
# through any node reach their quorum when one exists. The connections are
# made here: a node saves its peers only once a minute, so a young node
# restarts knowing none, and the others retry a lost peer only every 30 s.
start_node() { # DIR N
  local dir=$1 n=$2 endpoint m
  [ -f "$dir/node-$n.cmd" ] || die "$dir has no node $n"
  ! node_pid "$dir" "$n" >/dev/null || die "node $n of $dir is already running"
  launch "$dir" "$n"
  endpoint=$(<"$dir/node-$n.endpoint")
  wait_for "node $n answers its CLI" "$START_LIMIT" cli_answers "$dir" "$n"
  wait_for "node $n answers on $endpoint" "$START_LIMIT" http_answers "$endpoint"
  for m in $(running_nodes "$dir"); do
    [ "$m" != "$n" ] || continue
    cli "$dir" "$n" node connect "$(<"$dir/node-$m.id")" >/dev/null
    cli "$dir" "$m" node connect "$(<"$dir/node-$n.id")" >/dev/null
  done
  settle "$dir"
}

start_cluster() { # DIR NODES
  local dir=$1 nodes=$2 garage ports rpc s3 admin n i id ids=() endpoints=() replication
  garage=$(find_garage)
  command -v curl >/dev/null || die "curl not found"
  command -v python3 >/dev/null || die "python3 not found"
  if compgen -G "$dir/node-*" >/dev/null; then die "$dir already holds a cluster"; fi
  echo "$garage" >"$dir/garage.path"
  # Every copy of an object on its own node, up to Garage's usual 3.
  replication=$((nodes < 3 ? nodes : 3))

  # A failed start leaves no processes behind: nobody else knows of them.
  trap "stop_all $(printf %q "$dir")" EXIT

  # One RPC secret for the whole cluster: nodes only talk to holders of it.
  local secret
  secret=$(random_hex 32)
  read -r -a ports <<<"$(free_ports $((3 * nodes)))"
  for ((n = 1; n <= nodes; n++)); do
    i=$((3 * (n - 1)))
    rpc=${ports[i]} s3=${ports[i + 1]} admin=${ports[i + 2]}
    mkdir -p "$dir/node-$n/meta" "$dir/node-$n/data"
    # lmdb: the engine this garage build has. rpc_public_addr makes
    # `node id` print the address other nodes connect to. Path-style
    # requests (http://HOST:PORT/BUCKET/KEY) are what the tests send;
    # root_domain only enables the virtual-host style as well.
    cat >"$dir/node-$n.toml" <<EOF
metadata_dir = "$dir/node-$n/meta"
data_dir = "$dir/node-$n/data"
db_engine = "lmdb"
replication_factor = $replication
rpc_bind_addr = "127.0.0.1:$rpc"
rpc_public_addr = "127.0.0.1:$rpc"
rpc_secret = "$secret"

[s3_api]
api_bind_addr = "127.0.0.1:$s3"
s3_region = "$REGION"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$admin"
EOF
    chmod 600 "$dir/node-$n.toml"
    printf '%q -c %q server\n' "$garage" "$dir/node-$n.toml" >"$dir/node-$n.cmd"
    echo "http://127.0.0.1:$s3" >"$dir/node-$n.endpoint"
    endpoints+=("http://127.0.0.1:$s3")
    launch "$dir" "$n"
  done

  # A node generates its identity (a key pair) on its first start, so the
  # ids exist only now; `node id` answering also means the node is up.
  for ((n = 1; n <= nodes; n++)); do
    wait_for "node $n answers its CLI" "$START_LIMIT" cli_answers "$dir" "$n"
    id=$(cli "$dir" "$n" node id -q)
    echo "$id" >"$dir/node-$n.id"
    ids+=("$id")
  done

  # Node 1 connects to each other node; the nodes then tell each other of
  # their peers, so every node ends up connected to every other.
  for ((n = 2; n <= nodes; n++)); do
    cli "$dir" 1 node connect "${ids[n - 1]}" >/dev/null
  done
  for ((n = 1; n <= nodes; n++)); do
    wait_for "node $n connects to all $nodes nodes" "$JOIN_LIMIT" connected_to "$dir" "$n" "$nodes"
  done

  # Until a layout gives nodes a role, none stores anything and every S3
  # request fails. The capacity only weighs nodes against each other; one
  # zone, as all nodes share this machine. A fresh cluster is at version 0.
  cli "$dir" 1 layout assign -z dc1 -c 1G "${ids[@]%@*}" >/dev/null
  cli "$dir" 1 layout apply --version 1 >/dev/null
  for ((n = 1; n <= nodes; n++)); do
    wait_for "node $n has the layout" "$JOIN_LIMIT" layout_ready "$dir" "$n" "$nodes"
  done

  # The bucket and a key allowed to use it. An imported key (GK + 24 hex
  # digits, a 64-digit secret) rather than a created one: its secret is
  # known without parsing Garage's output.
  local key_id key_secret
  key_id="GK$(random_hex 12)"
  key_secret=$(random_hex 32)
  cli "$dir" 1 bucket create "$BUCKET" >/dev/null
  cli "$dir" 1 key import --yes "$key_id" "$key_secret" -n brasa >/dev/null
  cli "$dir" 1 bucket allow --read --write --owner "$BUCKET" --key brasa >/dev/null

  # Buckets and keys reach the other nodes in the background: wait until a
  # signed request works through each node, as the tests will send them.
  for ((n = 1; n <= nodes; n++)); do
    wait_for "S3 through node $n" "$S3_LIMIT" s3_works "${endpoints[n - 1]}" "$key_id" "$key_secret"
  done

  local IFS=,
  cat >"$dir/cluster.env" <<EOF
S3_ENDPOINT=${endpoints[0]}
S3_ENDPOINTS=${endpoints[*]}
AWS_ACCESS_KEY_ID=$key_id
AWS_SECRET_ACCESS_KEY=$key_secret
AWS_REGION=$REGION
S3_BUCKET=$BUCKET
EOF
  chmod 600 "$dir/cluster.env"
  trap - EXIT
  cat "$dir/cluster.env"
}

# Configs name their folders by absolute path: the nodes and the CLI may
# run from anywhere.
absolute() { mkdir -p "$1" && cd "$1" && pwd; }

usage() { die "usage: $0 DIR NODES | --stop DIR | --kill-node DIR N | --start-node DIR N | --settle DIR"; }

case "${1:-}" in
  --stop)
    [ $# -eq 2 ] || usage
    [ -d "$2" ] || exit 0
    stop_all "$(absolute "$2")"
    ;;
  --kill-node)
    [ $# -eq 3 ] || usage
    kill_node "$(absolute "$2")" "$3"
    ;;
  --start-node)
    [ $# -eq 3 ] || usage
    start_node "$(absolute "$2")" "$3"
    ;;
  --settle)
    [ $# -eq 2 ] || usage
    settle "$(absolute "$2")"
    ;;
  -* | "") usage ;;
  *)
    [ $# -eq 2 ] && [[ $2 =~ ^[1-9][0-9]*$ ]] || usage
    start_cluster "$(absolute "$1")" "$2"
    ;;
esac
