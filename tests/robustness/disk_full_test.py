#!/usr/bin/env python3
"""A full disk under `hemo train` and `hemo eval`: each write fails with a message naming the file and
the reason, the command exits 1 (an error, not an abort or a signal), no temporary file is left
behind, and a checkpoint written before the failure is intact and resumable.

The run directory is a tmpfs sized in pages from a reference run of the same command on the normal
disk (pbcnet7 at 32x32, 1 or 2 epochs of pbc-mini), so exactly one write runs out of space:

  checkpoint  room for epoch 1's files and half of last.safetensors: epoch 2's checkpoint fails;
              the epoch-1 last.safetensors holds one epoch of history and `hemo train --resume`
              (copied to the normal disk) loads it and finishes epoch 2
  epoch_log   room for split.csv and config.json only: epochs.csv fails at epoch 1
  tensorboard one page more: the epoch log fits, the TensorBoard event file fails
  metrics     room for every file of the epoch: metrics.json fails
  report      room for everything but half of report.html: report.html fails
  eval        `hemo eval --out` on a full tmpfs: its metrics.json fails
  read_only   --out on a read-only tmpfs: the run directory cannot be created, named

Mounting needs CAP_SYS_ADMIN: as root the test re-runs itself in a private mount namespace
(`unshare -m`), otherwise in a user and mount namespace (`unshare -rm`). When neither works the
test FAILS saying why: it never skips.

usage: disk_full_test.py HEMO_BIN WORK_DIR DATA_DIR
"""
import glob, json, os, shutil, struct, subprocess, sys

HEMO, WORK, DATA = (os.path.abspath(a) for a in sys.argv[1:4])
PAGE = os.sysconf("SC_PAGE_SIZE")
COMMON = ["--model", "pbcnet7", "--input-size", "32", "--batch-size", "16", "--threads", "1", "--seed", "1",
          "--data", DATA]
NOSPACE = "No space left on device"
INNER = "HEMO_DISK_FULL_TEST_INNER"


def fail(msg):
    sys.exit(f"FAIL: {msg}")


def enter_mount_namespace():
    """Re-runs this script in a mount namespace where it may mount tmpfs; returns its exit status."""
    unshare = shutil.which("unshare")
    if unshare is None:
        fail("`unshare` (util-linux) is not installed: this test mounts a small tmpfs in a private mount namespace")
    cmd = [unshare, "-m"] if os.geteuid() == 0 else [unshare, "-rm"]
    os.makedirs(WORK, exist_ok=True)
    probe_dir = os.path.join(WORK, "probe")
    os.makedirs(probe_dir, exist_ok=True)
    probe = subprocess.run(cmd + ["mount", "-t", "tmpfs", "-o", f"size={PAGE}", "tmpfs", probe_dir],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        who = "root" if os.geteuid() == 0 else f"uid {os.geteuid()}"
        fail(f"cannot mount a tmpfs: `{' '.join(cmd)} mount -t tmpfs ...` as {who} failed: {probe.stderr.strip()}. "
             "This test needs root (CAP_SYS_ADMIN) or unprivileged user namespaces "
             "(sysctl kernel.unprivileged_userns_clone=1, kernel.apparmor_restrict_unprivileged_userns=0)")
    return subprocess.run(cmd + [sys.executable, os.path.abspath(__file__)] + sys.argv[1:],
                          env=dict(os.environ, **{INNER: "1"})).returncode


def pages(path):
    return -(-os.path.getsize(path) // PAGE)


def tmpfs(name, n_pages, read_only=False):
    """A fresh tmpfs of n_pages pages at WORK/name (this namespace's mounts end with it)."""
    d = os.path.join(WORK, name)
    if os.path.ismount(d):
        subprocess.run(["umount", d], check=True)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    opts = f"size={n_pages * PAGE}" + (",ro" if read_only else "")
    subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", d], check=True)
    return d


def hemo(*args):
    r = subprocess.run([HEMO, *args], capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, OMP_NUM_THREADS="1", OMP_WAIT_POLICY="passive"))
    return r.returncode, r.stdout, r.stderr


def train(out, epochs, *extra):
    return hemo("train", *COMMON, "--epochs", str(epochs), "--out", out, *extra)


def expect_failure(name, result, names, reason=NOSPACE):
    """The command failed cleanly: exit 1 (not a signal), the file and the reason named on stderr."""
    rc, _, err = result
    if rc != 1:
        fail(f"{name}: exit status {rc}, expected 1 (an error message, not an abort or a signal)\n{err[-3000:]}")
    for word in [names, reason, "hemo: error:"]:
        if word not in err:
            fail(f"{name}: stderr does not name '{word}'\n{err[-3000:]}")
    for bad in ["terminate called", "Aborted", "core dumped"]:
        if bad in err:
            fail(f"{name}: '{bad}' on stderr\n{err[-3000:]}")
    print(f"{name}: ok: {err.strip().splitlines()[-1]}")


def no_temporaries(name, d):
    left = [f for f in os.listdir(d) if ".tmp" in f or f.endswith(".restore")]
    if left:
        fail(f"{name}: temporary files left in {d}: {left}")


def train_state(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(json.loads(f.read(n))["__metadata__"]["hemo.train_state"])


def main():
    if not os.path.isdir(DATA):
        fail(f"the data set {DATA} is missing")
    # The reference run on the normal disk: its files' sizes in pages size every tmpfs below.
    ref = os.path.join(WORK, "reference")
    shutil.rmtree(ref, ignore_errors=True)
    rc, _, err = train(ref, 1)
    if rc != 0:
        fail(f"the reference run failed ({rc})\n{err}")
    p = {os.path.basename(f): pages(f) for f in glob.glob(os.path.join(ref, "*"))}
    events = next(f for f in p if f.startswith("events.out.tfevents"))
    before_epoch = p["split.csv"] + p["config.json"]
    epoch_files = before_epoch + p["epochs.csv"] + p[events] + p["best.safetensors"] + p["last.safetensors"]
    results = ["metrics.json", "metrics.csv", "confusion.csv", "predictions.csv"]

    d = tmpfs("checkpoint", epoch_files + p["last.safetensors"] // 2)
    expect_failure("checkpoint", train(d, 2), os.path.join(d, "last.safetensors"))
    no_temporaries("checkpoint", d)
    state = train_state(os.path.join(d, "last.safetensors"))
    if len(state["history"]) != 1:
        fail(f"checkpoint: last.safetensors holds {len(state['history'])} epochs of history, expected the 1 "
             "written before the failure")
    resumed = os.path.join(WORK, "resumed")
    shutil.rmtree(resumed, ignore_errors=True)
    shutil.copytree(d, resumed)
    rc, _, err = train(resumed, 2, "--resume")
    if rc != 0:
        fail(f"checkpoint: resuming the last.safetensors left by the failed run failed ({rc})\n{err[-3000:]}")
    if len(train_state(os.path.join(resumed, "last.safetensors"))["history"]) != 2:
        fail("checkpoint: the resumed run did not finish epoch 2")
    print("checkpoint: ok: the epoch-1 last.safetensors is intact and resumes to epoch 2")

    d = tmpfs("epoch_log", before_epoch)
    expect_failure("epoch_log", train(d, 1), os.path.join(d, "epochs.csv"))

    d = tmpfs("tensorboard", before_epoch + p["epochs.csv"])
    expect_failure("tensorboard", train(d, 1), os.path.join(d, "events.out.tfevents."))

    d = tmpfs("metrics", epoch_files)
    expect_failure("metrics", train(d, 1), os.path.join(d, "metrics.json"))
    no_temporaries("metrics", d)

    d = tmpfs("report", epoch_files + sum(p[f] for f in results) + p["report.html"] // 2)
    expect_failure("report", train(d, 1), os.path.join(d, "report.html"))
    no_temporaries("report", d)
    if not os.path.exists(os.path.join(d, "metrics.json")):
        fail("report: metrics.json, written before report.html, is missing")

    d = tmpfs("eval", 1)
    with open(os.path.join(d, "filler"), "wb") as f:
        f.write(b"x" * PAGE)
    out = os.path.join(d, "e")
    expect_failure("eval", hemo("eval", "--checkpoint", os.path.join(ref, "best.safetensors"), "--data", DATA,
                                "--manifest", os.path.join(ref, "split.csv"), "--batch-size", "16",
                                "--out", out), os.path.join(out, "metrics.json"))
    no_temporaries("eval", out)

    d = tmpfs("read_only", 64, read_only=True)
    expect_failure("read_only", train(os.path.join(d, "run"), 1), os.path.join(d, "run"), "Read-only file system")
    print("PASS")


if __name__ == "__main__":
    if os.environ.get(INNER) != "1":
        sys.exit(enter_mount_namespace())
    main()
