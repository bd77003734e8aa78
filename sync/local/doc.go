// Package local is gitlaunch's embedded executor: it runs a rendered run Pod
// as a process on this machine, with the /mnt layout the Pod would have in
// a cluster. It implements sync.Executor and is Linux-only (namespaces,
// /proc).
//
// # From Launch to process
//
//   - Run folder: <DataDir>/runs/<run-id>/ holds workspace/ (the repository
//     at the commit, from Options.Checkout), output.log, and the small files
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
//     /dev/shm is the machine's. Devices (GPUs) stay visible.
//   - WorkingDir: kept as the job sees it when isolated; translated to the
//     same folder of the workspace without isolation.
//   - Env: DefaultPassEnv from the syncer (PATH, HOME, proxies, CUDA; never
//     the syncer's credentials), GITLAUNCH_* from the Run, then the
//     container's env. secretKeyRef values come from Launch.Secrets, and
//     only the keys the Pod references; $(VAR) is expanded as by the
//     kubelet. GITLAUNCH_WORKSPACE names the workspace as the job sees it.
//   - activeDeadlineSeconds: counted from the process start; then the run
//     is stopped and ends TimedOut.
//   - Resource requests and limits, GPU counts included, are not enforced.
//
// # Processes
//
// The executor starts `sh -c <wrapper>` in a new session; the wrapper runs
// the (isolated) job and writes its exit status to the exit file. stdout and
// stderr of the whole tree go to output.log (one file, so merged in order),
// not to a pipe: the syncer may restart and still tail it. A follower
// goroutine per run tails the file into the Sink, scans log lines for
// metric patterns, checks the process (PID plus /proc start time), and at
// the end lists artifacts, reads the metrics file and sends the terminal
// Update. Cancel and timeouts send SIGTERM to the job's processes and
// SIGKILL to the whole process group after Options.KillGrace.
//
// Under systemd, use KillMode=process so that a syncer restart leaves the
// runs alive for adoption.
//
// # Isolation
//
//   - bwrap: bubblewrap with `--dev-bind / /` (the host, devices included),
//     a fresh tmpfs on /mnt holding only the run's mounts, its own PID
//     namespace and /proc, and --chdir to the job's folder.
//   - unshare (root only): unshare(1) with new mount and PID namespaces;
//     a fixed sh script (paths passed as arguments, never as script text)
//     builds the same /mnt on a tmpfs and moves it over /mnt.
//   - none: the job runs in its folder of the workspace and sees this
//     machine's /mnt; the run log and the syncer's log say so, and
//     GITLAUNCH_WORKSPACE and GITLAUNCH_MOUNT_* name the real folders.
//
// Isolation gives the job the cluster's view of /mnt and its own processes;
// it is not a security boundary: the job runs as the syncer's user, with
// the machine's files, devices and network. Untrusted code belongs on the
// kube executor.
//
// In bwrap and unshare mode the job sees the same thing: /mnt/<repo> with
// the repository, read-only datasets, its folder as working directory, and
// when its main process ends every process it left is gone, as in a
// container.
package local
