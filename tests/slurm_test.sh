#!/bin/sh
# The Slurm scripts on a real (single-node) Slurm: starts munged, slurmctld and slurmd from
# Debian's packages on localhost with a throw-away configuration (process tracking by
# /proc, no cgroups), submits scripts/slurm/submit.sh's 4-task job array over the demo and
# its merge job, waits, checks that the merged run's tables equal those of the same run on one
# machine, and stops the daemons it started. Exit 77 (skipped) with the reason when this
# machine cannot run them: the packages missing (scripts/setup.sh installs them), not root
# (slurmd launches jobs as their user), or a daemon that does not come up (its log is printed).
#   tests/slurm_test.sh BUILD_DIR
set -u
build="$(cd "${1:?usage: slurm_test.sh BUILD_DIR}" && pwd)"
here="$(cd "$(dirname "$0")/.." && pwd)"
cli="$build/app/cli/layerscope-cli"

skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAILED: $*"; exit 1; }

for tool in munged slurmctld slurmd sbatch squeue sinfo scontrol; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] ||
    skip "'$tool' is not installed (scripts/setup.sh installs munge, slurmctld, slurmd and slurm-client)"
done
PATH="$PATH:/usr/sbin"
[ "$(id -u)" -eq 0 ] || skip "slurmd must run as root to start jobs, and this test runs as $(id -un)"

work="$(mktemp -d /tmp/layerscope-slurm.XXXXXX)"
chmod 0755 "$work"
pids=""
stop() {
  for pid in $pids; do kill "$pid" 2>/dev/null; done
  sleep 1
  for pid in $pids; do kill -9 "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap stop EXIT INT TERM

# munge: a fresh key and socket of our own, not the system's.
mkdir -p "$work/munge"
chmod 0700 "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 0400 "$work/munge/munge.key"
munged --force --foreground --socket="$work/munge/socket" --key-file="$work/munge/munge.key" \
  --pid-file="$work/munge/pid" --log-file="$work/munge/log" --seed-file="$work/munge/seed" \
  > "$work/munge/out" 2>&1 &
pids="$pids $!"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
node="$(hostname -s)"
mkdir -p "$work/state" "$work/spool" "$work/runs"
cat > "$work/slurm.conf" <<EOF
ClusterName=layerscope-test
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
AuthType=auth/munge
AuthInfo=socket=$work/munge/socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=1024 State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$work/slurm.conf"

# Wait until munge answers, then start Slurm.
for i in $(seq 1 50); do [ -S "$work/munge/socket" ] && break; sleep 0.2; done
[ -S "$work/munge/socket" ] || { cat "$work/munge/log" 2>/dev/null; skip "munged did not start (its log is above)"; }
slurmctld -D -i -f "$SLURM_CONF" > "$work/slurmctld.out" 2>&1 &
pids="$pids $!"
slurmd -D -f "$SLURM_CONF" > "$work/slurmd.out" 2>&1 &
pids="$pids $!"
ready=""
for i in $(seq 1 60); do
  state="$(sinfo -h -N -o %t 2>/dev/null | head -1)"
  case "$state" in idle*|mix*|alloc*) ready=1; break ;; esac
  sleep 1
done
if [ -z "$ready" ]; then
  for log in slurmctld.out slurmctld.log slurmd.out slurmd.log; do echo "== $log"; tail -20 "$work/$log" 2>/dev/null; done
  skip "the single-node Slurm did not come up (node state '${state:-none}'; logs above)"
fi
echo "Slurm $(sinfo -V | awk '{print $2}') up on $node: $(sinfo -h -o '%P %D %t')"

# The run, sharded over a 4-task array and merged by a dependent job, as a user submits it.
analyses=cossim,saturation,lowrank,losssep,exit,ablation,lensdiv
set -- --model "$here/resources/demo/model" --data "$here/resources/demo/eval.txt" --seq-len 64 \
  --probe-sample 400 --probe-epochs 5 --subset-windows 120 --quiet
LAYERSCOPE_CLI="$cli" sh "$here/scripts/slurm/submit.sh" 4 "$work/runs/demo" "$analyses" "$@" > "$work/submit.out" 2>&1 ||
  { cat "$work/submit.out"; fail "submit.sh failed"; }
cat "$work/submit.out"

# Wait for both jobs to leave the queue (a minute on 2 cores).
for i in $(seq 1 600); do
  [ -z "$(squeue -h 2>/dev/null)" ] && break
  sleep 1
done
[ -z "$(squeue -h)" ] || { squeue; fail "the jobs did not finish in 10 minutes"; }
for out in "$work"/runs/demo/logs/*; do echo "== $(basename "$out")"; tail -3 "$out"; done
[ -f "$work/runs/demo/run.h5" ] || fail "the merge job wrote no run.h5"
for k in 1 2 3 4; do [ -f "$work/runs/demo/shard-$k-of-4.h5" ] || fail "shard $k of 4 is missing"; done

# The same run on this machine, and every table of the two compared.
"$cli" run "$analyses" "$@" --out "$work/whole.h5" --csv "$work/whole" || fail "the unsharded run failed"
"$cli" show "$work/runs/demo/run.h5" --csv "$work/merged" > /dev/null || fail "show of the merged run failed"
python3 "$here/tests/reference/compare_tables.py" "$work/whole" "$work/merged" || fail "the merged run differs from the single run"
echo "PASSED: the merged run of 4 Slurm array tasks equals the single-machine run"
