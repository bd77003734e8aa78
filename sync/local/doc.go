// Package local is gitlaunch's embedded executor: it runs a rendered run Pod
// as a process on this machine, with the /mnt layout the Pod would have in
// a cluster. It implements engine.Executor and is Linux-only (namespaces,
// /proc).
//
// # From Launch to process
//
//   - Run folder: <DataDir>/runs/<run-id>/ holds workspace/ (the repository
//     at the commit, from Options.Checkout), tmp/ (the job's /tmp, removed
//     when the run ends), output.log, and the small files
//     that let a restarted syncer adopt the run (attempt, pid, exit, stop,
//     delivered). A retry (a higher Run.Attempt) first moves the previous
//     attempt's folder to <run-id>.attempt-<n>.
//   - Container: the one named "job" (or the only one). Its Command + Args
//     run verbatim (render makes them `sh -c <command>`); the image is not
//     used, which the run log says in its first line. A Pod without a
//     command cannot run here.
//   - Workspace: the container's mount of the "workspace" volume gives the
//     path, /mnt/<repo>; its subPath is ignored (the run folder is it).
//   - Datasets: each mount of a "dataset-<name>" volume is bound read-only
//     from Options.Datasets, looked up by volume name, then by <name>, then
//     by the name of the job's dataset at that path. A missing one fails the
//     run before anything is cloned.
//   - Other volumes under /mnt: hostPath is bound, emptyDir is a folder in
//     the run folder; the rest are left out with a note in the run log.
//     /dev/shm is the sandbox's own, of the emptyDir's sizeLimit.
//   - WorkingDir: kept as the job sees it when isolated; translated to the
//     same folder of the workspace without isolation.
//   - Env: built from scratch, never inherited from the syncer: PATH,
//     HOME=TMPDIR (the run's private /tmp), LANG=C.UTF-8,
//     PYTHONUNBUFFERED=1, GITLAUNCH_* from the Run, then the container's
//     env. secretKeyRef values come from Launch.Secrets, and only the keys
//     the Pod references; $(VAR) is expanded as by the kubelet.
//     GITLAUNCH_WORKSPACE names the workspace as the job sees it.
//   - activeDeadlineSeconds: counted from the process start; then the run
//     is stopped and ends TimedOut.
//   - Resource requests and limits, GPU counts included, are not enforced.
//
// # Processes
//
// The executor starts `sh -c <outer script>` in a new session; the script
// runs the (isolated) job and writes its exit status to the exit file.
// Everything gitlaunch runs outside the job (that script, bwrap, unshare
// and its mount script) has a fixed environment (wrapperEnv) and absolute
// program paths, so nothing the job sets reaches them; the job's
// environment travels through a pipe on fd 3 to the last step before the
// job (bwrap's --args, or a subshell that sources it and execs the job),
// never through an environment or a command line of a wrapper.
//
// stdout and stderr of the whole tree go to output.log (one file, so
// merged in order), not to a pipe: the syncer may restart and still tail
// it. A follower goroutine per run tails the file into the Sink, scans log
// lines for metric patterns, checks the process (PID plus /proc start
// time), and at the end lists artifacts, reads the metrics file and sends
// the terminal Update. Cancel and timeouts send SIGTERM to the job's
// processes and SIGKILL to the whole process group after
// Options.KillGrace; with bwrap or unshare the job's PID namespace ends
// with its main process, taking every process it started (setsid and
// double-forked ones included).
//
// Under systemd, use KillMode=process so that a syncer restart leaves the
// runs alive for adoption.
//
// # Isolation
//
//   - bwrap, the sandbox (see sandbox.go for the exact arguments): this
//     machine read-only; writable only the workspace at /mnt/<repo>, the
//     emptyDirs, a private /tmp (a folder of the run, also /var/tmp and
//     HOME) and /dev/shm; datasets read-only; gitlaunch's data directory,
//     Options.Hide and the usual credential stores of the syncer user's
//     home covered (empty folder, or /dev/null for a file); an empty /run;
//     a /dev with the standard nodes and the GPUs (/dev/nvidia*, /dev/dri,
//     /dev/kfd); its own PID and IPC namespaces and /proc, with /proc/sys
//     and other kernel knobs read-only or masked; no capabilities, even
//     when the syncer is root. The network is the machine's.
//   - unshare (root only): unshare(1) with new mount and PID namespaces; a
//     fixed sh script (paths passed as arguments, never as script text)
//     builds the same /mnt on a tmpfs and moves it over /mnt. The job's
//     processes end with it, but it is not a sandbox: the job runs as root
//     with every capability and sees this machine.
//   - none: the job runs in its folder of the workspace and sees this
//     machine's /mnt; the run log and the syncer's log say so, and
//     GITLAUNCH_WORKSPACE and GITLAUNCH_MOUNT_* name the real folders.
//     Processes that leave the process group (setsid) may outlive the run.
//
// Without the sandbox every job could read the others' secrets, so a run
// that gets secrets ends in StateError unless Options.AllowUnsandboxed.
package local
