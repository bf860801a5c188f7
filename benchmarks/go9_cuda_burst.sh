#!/usr/bin/env bash
# Go 9x9 self-play training burst on a CUDA machine, then the snapshot gauntlet on its CPU cores (issue #16
# items 1 and 6). Run from the repository root on the device machine (the lent H200: python3 with torch, the
# project's other wheels carried in .whl/, GNU Go carried in .gnugo/ with its two shared libraries):
#
#   TRAIN_S=300 GAUNTLET_S=190 CPU_SNAPSHOT=runs/go9_gumbel/snapshots/iter_000004.pt bash benchmarks/go9_cuda_burst.sh
#
# Phase 1: `zeroleague.agents.alphazero.train` from the warm start (checkpoints/go9/alphazero.pt) with Gumbel root
# search (32 simulations over 16 considered actions), playout-cap randomization (25% full searches, 8-simulation
# fast ones), 1,024 games in lockstep per iteration, on CUDA, for TRAIN_S seconds (`timeout`; the run dir keeps
# every finished iteration). Phase 2: benchmarks/go9_gauntlet.py play — the warm start, CPU_SNAPSHOT (the
# 2-core run's latest snapshot, label cpu_itN, if given) and three CUDA snapshots (a third, two thirds, last) against GNU Go level 1 and
# against the warm start, GAMES games per pairing, for at most GAUNTLET_S seconds of task submission.
# Everything lands in $OUT (metrics, logs, the snapshots, the gauntlet records).
set -u
OUT=${OUT:-/tmp/go9_burst_out}
mkdir -p "$OUT"
DEVICE=${DEVICE:-cuda}
TRAIN_S=${TRAIN_S:-300}
GAUNTLET_S=${GAUNTLET_S:-190}
GAMES=${GAMES:-100}
JOBS=${JOBS:-15}
PARALLEL=${PARALLEL:-1024}
SIMS=${SIMS:-100}
RUN=${RUN:-runs/go9_cuda}
export PYTHONUNBUFFERED=1
log() { echo "[burst $(date -u +%H:%M:%S)] $*" | tee -a "$OUT/burst.log"; }

if [ -d .whl ] && ! python3 -c "import pettingzoo, sgfmill" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site
fi
python3 -c "import zeroleague.envs" 2>/dev/null || \
  python3 -m pip install -q --no-index --no-deps --no-build-isolation -e . >> "$OUT/burst.log" 2>&1
python3 -c "import zeroleague.envs, torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" \
  2>&1 | tee -a "$OUT/burst.log"
if [ -x .gnugo/gnugo ]; then
  export GNUGO_BIN=$PWD/.gnugo/gnugo LD_LIBRARY_PATH=$PWD/.gnugo:${LD_LIBRARY_PATH:-}
fi
"${GNUGO_BIN:-gnugo}" --version 2>&1 | head -1 | tee -a "$OUT/burst.log"
nproc | tee -a "$OUT/burst.log"

log "train ${TRAIN_S}s on $DEVICE"
timeout "$TRAIN_S" python3 -m zeroleague.agents.alphazero.train --run-dir "$RUN" --device "$DEVICE" --threads 4 \
  --iterations 1000 --games-per-iteration "$PARALLEL" --parallel-games "$PARALLEL" --sims 32 --search gumbel \
  --gumbel-considered 16 --full-search-prob 0.25 --fast-sims 8 --init-checkpoint checkpoints/go9/alphazero.pt \
  --train-steps 100 --batch-size 512 --replay-window 4 --lr 5e-4 --snapshot-every 1 --resign-threshold 0.9 \
  --no-resign-frac 0.1 --seed 17 > "$OUT/train.log" 2>&1
log "train exit $?"
cp "$RUN/metrics.jsonl" "$OUT/cuda_metrics.jsonl" 2>/dev/null
mapfile -t SNAPS < <(ls "$RUN"/snapshots/iter_*.pt 2>/dev/null | sort)
N=${#SNAPS[@]}
log "snapshots: $N"
ARGS=(--snapshot warm=checkpoints/go9/alphazero.pt)
if [ -n "${CPU_SNAPSHOT:-}" ] && [ -f "$CPU_SNAPSHOT" ]; then
  it=$(basename "$CPU_SNAPSHOT" .pt); it=$((10#${it#iter_}))
  ARGS+=(--snapshot "cpu_it$it=$CPU_SNAPSHOT")
fi
PICK=()
[ "$N" -ge 1 ] && PICK+=($((N - 1)))
[ "$N" -ge 3 ] && PICK+=($((2 * N / 3 - 1)) $((N / 3 - 1)))
[ "$N" -eq 2 ] && PICK+=(0)
for k in "${PICK[@]}"; do
  S=${SNAPS[$k]}; it=$(basename "$S" .pt); it=$((10#${it#iter_}))
  cp "$S" "$OUT/cuda_iter_$it.pt"; ARGS+=(--snapshot "cuda_it$it=$S")
done
log "gauntlet ${ARGS[*]}"
python3 benchmarks/go9_gauntlet.py play "${ARGS[@]}" --games "$GAMES" --chunk 8 --sims "$SIMS" --jobs "$JOBS" \
  --budget-s "$GAUNTLET_S" --records "$OUT/gauntlet_records.jsonl" >> "$OUT/burst.log" 2>&1
log "gauntlet exit $?"
tail -3 "$OUT/train.log" | tr '\r' '\n' | tail -3 >> "$OUT/burst.log"
