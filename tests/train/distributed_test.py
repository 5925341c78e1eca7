#!/usr/bin/env python3
"""Data-parallel training through mpirun (docs/training.md), on pbc-mini at 32x32 with pbcnet7
without dropout (no batch norm in it), SGD with momentum, one OpenMP thread per rank.

  same_weights   2 ranks x batch 6 against 1 process x batch 12, two epochs (the last step of each
                 epoch holds 8 images: 6 + 2): the weight updates (final - initial weights) agree
                 within TOLERANCE, max |da - db| / max |db| per tensor; not bit for bit: one process
                 sums the batch's gradient in one GEMM, two ranks sum two halves.
  resume_other_n 2 ranks x batch 4 for one epoch (the last step leaves rank 1 empty), then
                 1 process x batch 8 resumes for the second: agrees with 1 process x batch 8 throughout.
  hung_rank      rank 1 is stopped (SIGSTOP) mid-run: rank 0's collective times out after
                 HEMO_DIST_TIMEOUT=6 s and MPI_Abort ends the job with a message naming the rank.
  killed_rank    rank 1 is killed (SIGKILL): the job ends, non-zero, well within the timeout.
  sync_bn        resnet18 (batch norm) at 32x32, lr 1e-4, one epoch: 2 ranks x 12 with --sync-bn
                 against 1 process x 24 agree within TOLERANCE (the worst parameter difference over
                 the largest update); without --sync-bn (statistics per rank) they do not (> 0.1);
                 in the emulation build, --sync-bn on --device cuda (staged through the host) too.
  refusals       a launcher's rank variables without --distributed, and --sync-bn without
                 --distributed, are clear errors.
  nccl_path      (the emulation build) 2 ranks x batch 6 on --device cuda: the gradients go through
                 the NCCL path (train/comm_nccl.cpp, its stand-in train/nccl_emu/nccl.h), as the log
                 says; the updates agree with one CPU process x 12 within TOLERANCE.

usage: distributed_test.py HEMO_BIN WORK_DIR DATA_DIR [emulated]   (exit 77: skipped, mpirun absent)
"""
import array, json, math, os, shutil, signal, struct, subprocess, sys, time

TOLERANCE = 1e-3  # seen: 5e-6 same_weights, 1.9e-4 resume_other_n (batch 8, 36 steps of float drift), 5.9e-5 sync_bn
HEMO, WORK, DATA = sys.argv[1], sys.argv[2], sys.argv[3]
EMULATED = len(sys.argv) > 4 and sys.argv[4] == "emulated"
MPIRUN = shutil.which("mpirun")
if MPIRUN is None:
    print("SKIP: mpirun is not installed (tools/install-deps.sh installs openmpi-bin)")
    sys.exit(77)
if not os.path.isdir(DATA):
    print(f"SKIP: {DATA} is missing")
    sys.exit(77)

ENV = dict(os.environ, OMP_NUM_THREADS="1", OMP_WAIT_POLICY="passive",
           OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")
COMMON = ["train", "--model", "pbcnet7", "--data", DATA, "--input-size", "32", "--dropout", "0",
          "--optimizer", "sgd", "--momentum", "0.9", "--seed", "3", "--threads", "1",
          "--no-restore-best"]


def mpi(n):
    return [MPIRUN, "--oversubscribe", "--allow-run-as-root", "-np", str(n)]


def train(out, batch, epochs, ranks=0, extra=(), lr="0.05"):
    cmd = (mpi(ranks) if ranks else []) + [HEMO] + COMMON + ["--lr", lr, "--out", out, "--batch-size", str(batch),
                                                             "--epochs", str(epochs)] + list(extra)
    if ranks:
        cmd.append("--distributed")
    t0 = time.time()
    r = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {r.returncode}\n{r.stdout}\n{r.stderr}")
    return time.time() - t0


def tensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        body = f.read()
    return {k: array.array("f", body[v["data_offsets"][0]:v["data_offsets"][1]])
            for k, v in header.items() if k != "__metadata__" and v["dtype"] == "F32" and not k.startswith("optim")}


def compare(name, a_dir, b_dir):
    """Compares what training changed: (a - init) against (b - init), tensor by tensor."""
    a, b = tensors(os.path.join(a_dir, "last.safetensors")), tensors(os.path.join(b_dir, "last.safetensors"))
    assert a.keys() == b.keys() == INIT.keys(), f"{name}: tensor names differ"
    worst, moved = (0.0, ""), 0.0
    for k in a:
        da = [x - z for x, z in zip(a[k], INIT[k])]
        db = [y - z for y, z in zip(b[k], INIT[k])]
        scale = max(abs(y) for y in db)
        moved = max(moved, scale)
        worst = max(worst, (max(abs(x - y) for x, y in zip(da, db)) / (scale + 1e-6), k))
    print(f"{name}: worst relative difference of the weight updates {worst[0]:.3g} ({worst[1]}); "
          f"largest update {moved:.3g}")
    if worst[0] > TOLERANCE:
        sys.exit(f"FAIL: {name}: {worst[1]} differs by {worst[0]:.3g} > {TOLERANCE}")


def stop_rank(sig, label):
    """Starts a long 2-rank run, sends `sig` to rank 1 after its first epoch, times the job's end."""
    out = os.path.join(WORK, label)
    cmd = mpi(2) + [HEMO] + COMMON + ["--lr", "0.05", "--out", out, "--batch-size", "4", "--epochs", "50", "--distributed"]
    env = dict(ENV, HEMO_DIST_TIMEOUT="6")
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not os.path.exists(os.path.join(out, "last.safetensors")):
        assert time.time() < deadline and p.poll() is None, f"{label}: the run did not reach its first epoch"
        time.sleep(0.2)
    victim = None
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env_vars = f.read().split(b"\0")
            if b"OMPI_COMM_WORLD_RANK=1" in env_vars and f"--out\0{out}".encode() in open(f"/proc/{pid}/cmdline", "rb").read():
                victim = int(pid)
        except OSError:
            continue
    assert victim, f"{label}: rank 1's process not found"
    t0 = time.time()
    os.kill(victim, sig)
    try:
        _, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        os.kill(victim, signal.SIGKILL)
        sys.exit(f"FAIL: {label}: the job still runs 60 s after rank 1 got signal {sig}")
    took = time.time() - t0
    print(f"{label}: the job ended {took:.1f} s after signal {sig} to rank 1, exit {p.returncode}")
    assert p.returncode != 0, f"{label}: mpirun exited 0"
    return err


os.makedirs(WORK, exist_ok=True)
for d in ("init", "one12", "two6", "one8", "resume", "hung", "killed"):
    shutil.rmtree(os.path.join(WORK, d), ignore_errors=True)
w = lambda d: os.path.join(WORK, d)

# The initial weights: one epoch at a learning rate too small to move them.
train(w("init"), 12, 1, lr="1e-30")
INIT = tensors(os.path.join(w("init"), "last.safetensors"))
t1 = train(w("one12"), 12, 2)
t2 = train(w("two6"), 6, 2, ranks=2)
print(f"timings: 1 process x 12: {t1:.1f} s; 2 ranks x 6: {t2:.1f} s (2 epochs each, with startup and test)")
compare("same_weights", w("one12"), w("two6"))

if EMULATED:
    out = w("nccl2x6")
    shutil.rmtree(out, ignore_errors=True)
    cmd = mpi(2) + [HEMO] + COMMON + ["--lr", "0.05", "--out", out, "--batch-size", "6", "--epochs", "2",
                                      "--device", "cuda", "--distributed"]
    r = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"nccl_path: {' '.join(cmd)} exited {r.returncode}\n{r.stdout}\n{r.stderr}"
    line = next((l for l in r.stdout.splitlines() if l.startswith("gradients: ")), "")
    assert "on the device by the emulation build's NCCL stand-in" in line, f"nccl_path: not the NCCL path: {line!r}"
    print("nccl_path: " + line)
    compare("nccl_path", w("one12"), out)

train(w("one8"), 8, 2)
train(w("resume"), 4, 1, ranks=2)
train(w("resume"), 8, 2, extra=["--resume"])
compare("resume_other_n", w("one8"), w("resume"))

err = stop_rank(signal.SIGSTOP, "hung")
assert "did not complete within 6 s" in err and "rank 0 of 2" in err, f"hung: no clear message:\n{err}"
print("hung: " + next(l for l in err.splitlines() if "did not complete" in l))
stop_rank(signal.SIGKILL, "killed")

def sync_bn():
    resnet = ["resnet18" if a == "pbcnet7" else a for a in COMMON]
    for d, ranks, batch, extra in (("bn_init", 0, 24, ["--lr", "1e-30"]), ("bn_one", 0, 24, ["--lr", "1e-4"]),
                                   ("bn_sync", 2, 12, ["--lr", "1e-4", "--sync-bn"]),
                                   ("bn_local", 2, 12, ["--lr", "1e-4"])) + (
                                   (("bn_sync_cuda", 2, 12, ["--lr", "1e-4", "--sync-bn", "--device", "cuda"]),)
                                   if EMULATED else ()):
        shutil.rmtree(w(d), ignore_errors=True)
        args = resnet + extra + ["--out", w(d), "--batch-size", str(batch), "--epochs", "1"]
        cmd = (mpi(ranks) + [HEMO] + args + ["--distributed"]) if ranks else [HEMO] + args
        r = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"sync_bn: {' '.join(cmd)} exited {r.returncode}\n{r.stderr}"
        if "cuda" in extra:
            assert "on the device by" in r.stdout, f"sync_bn: {d} did not run on the device:\n{r.stdout}"
    init, one = (tensors(os.path.join(w(d), "last.safetensors")) for d in ("bn_init", "bn_one"))
    params = [k for k in one if "running" not in k and "num_batches" not in k]
    scale = max(max(abs(y - z) for y, z in zip(one[k], init[k])) for k in params)
    worst = {}
    for d in ("bn_sync", "bn_local") + (("bn_sync_cuda",) if EMULATED else ()):
        t = tensors(os.path.join(w(d), "last.safetensors"))
        worst[d] = max((max(abs(x - y) for x, y in zip(t[k], one[k])) / scale, k) for k in params)
        stats = max(max(abs(x - y) for x, y in zip(t[k], one[k])) for k in one if "running" in k)
        print(f"sync_bn: {d}: worst parameter difference / largest update {worst[d][0]:.3g} ({worst[d][1]}); "
              f"running statistics differ by up to {stats:.3g}")
    assert worst["bn_sync"][0] < TOLERANCE, f"sync_bn: --sync-bn differs from one process: {worst['bn_sync']}"
    assert worst["bn_local"][0] > 0.1, f"sync_bn: per-rank statistics should differ: {worst['bn_local']}"
    if EMULATED:
        assert worst["bn_sync_cuda"][0] < TOLERANCE, f"sync_bn: --sync-bn on cuda differs: {worst['bn_sync_cuda']}"


sync_bn()


def refused(extra_env, args, expect):
    r = subprocess.run([HEMO] + COMMON + ["--out", w("refused"), "--epochs", "1"] + args,
                       env=dict(ENV, **extra_env), capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and expect in r.stderr, f"refusals: expected '{expect}', got {r.returncode}:\n{r.stderr}"
    print("refusals: " + r.stderr.strip().splitlines()[-1])


def bench_scaling():
    """`hemo bench train --distributed`: one report (rank 0's), a finite scaling efficiency."""
    cmd = mpi(2) + [HEMO, "bench", "train", "--distributed", "--model", "pbcnet7", "--input-size", "32",
                    "--batch-size", "8", "--threads", "1", "--warmup", "1", "--steps", "3", "--json"]
    r = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"bench train --distributed exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
    report = json.loads(r.stdout)  # a second rank's report would make this invalid JSON
    eff = report["scaling_efficiency"]
    assert report["ranks"] == 2 and math.isfinite(eff) and 0 < eff < 2 and report["images_per_s"] > 0, report
    print(f"bench_scaling: 2 ranks, efficiency {eff:.2f}, {report['images_per_s']:.0f} images/s")


bench_scaling()
refused({"OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2"}, [], "without --distributed")
refused({}, ["--sync-bn"], "--sync-bn synchronizes batch norm across the ranks of --distributed")
print("PASS")
