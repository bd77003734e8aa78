// Package kube is gitlaunch's Kubernetes executor: it creates each run's
// rendered Pod, follows it through one shared informer (the namespace's
// Pods labelled app.kubernetes.io/managed-by=gitlaunch; no polling),
// copies the job's log into the run's log, reads results from the shared
// results volume, and deletes finished Pods after a TTL. It implements
// sync.Executor. RunWithLeaderElection keeps two syncer replicas from
// launching at once.
//
// # Identity
//
// The Pod name comes from the run ID and attempt (render.AttemptPodName),
// so Start on an existing Pod (AlreadyExists) adopts it instead of
// launching twice, and Adopt after a restart finds it by name.
//
// # States
//
// Each change of the Pod becomes at most one sync.Update; a (state,
// reason) pair already sent, or already known to the engine (the run's
// stored state), is not sent again.
//
//	Pod                                                  run state   reason (examples)
//	not bound; PodScheduled=False/Unschedulable          pending     waiting for GPUs: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu
//	  (no extended resource missing)                     pending     waiting for resources: … Insufficient cpu / waiting for a node: …
//	not bound yet                                        pending     waiting to be scheduled
//	bound, containers being created                      pending     starting on gpu-a100-0
//	init container clone running                         pending     cloning the repository on gpu-a100-0
//	waiting ErrImagePull/ImagePullBackOff/Registry…      pending     cannot pull image "x" yet (retrying for up to 5m0s)
//	  … still so after Options.PullGrace                 error       image pull failed: cannot pull image "x" for 5m0s: <message>
//	waiting InvalidImageName/ErrImageNeverPull/…         error       cannot pull image "x" (InvalidImageName): <message>
//	waiting CreateContainer(Config)Error                 pending     cannot start container job yet: <message>; error after PullGrace
//	init container clone terminated non-zero             error       clone failed: <termination message, or exit code N>
//	job container running                                running     running on gpu-a100-0
//	Succeeded                                            succeeded   (exit code 0)
//	Failed, job container OOMKilled                      failed      out of memory (OOMKilled; limit 16Gi)
//	Failed, job container exit code N                    failed      exit code N
//	Failed, Pod reason DeadlineExceeded                  timed_out   timed out: ran longer than its limit of 6h0m0s
//	Failed, Pod reason Evicted                           error*      evicted: <message>
//	Failed, DisruptionTarget (preemption, taint, drain)  error*      preempted by a higher-priority Pod / node lost: … / evicted (…)
//	Failed, node shutdown, kubelet admission refusal     error*      node lost: … / the node refused the Pod (OutOfnvidia.com/gpu): …
//	gone while not finished, not by Cancel               error*      node lost: the Pod disappeared before it finished (…)
//	deleted by Cancel (gone, or finished after)          cancelled   cancelled (the engine keeps the person's reason)
//
// (*) Retryable: the engine re-queues the run while its attempts allow.
// An image that cannot be pulled may be a registry hiccup, so it keeps the
// run pending for PullGrace before it is an error; names that can never
// be pulled end it at once. A Pod that never finished (image pull) is
// deleted when its run ends.
//
// # Logs
//
// While the job container runs, its log is streamed (Follow) with time
// stamps, which are stripped before the text reaches the Sink. The
// position — the last time stamp, how many lines carried exactly it, and
// how many bytes of a line cut by a disconnect were delivered — lets a new
// stream (SinceTime, which the API rounds down to the second) skip what was
// already delivered: after an API server restart nothing is lost or
// repeated. The position is saved on the Pod (AnnotationLogCursor) every
// Options.CursorPeriod and when the executor closes, so that the next
// process resumes there (a crash repeats at most one period's lines).
// When the clone step fails, its output is added to the run's log.
//
// # Clients
//
// The executor has two clients, each limited to Options.QPS and Burst
// (defaults 200 and 400: a burst of 1,000 runs becomes Pods in seconds): one creates, reads and cancels Pods and feeds the
// informer; the other streams logs, writes annotations and deletes
// finished Pods, so that neither log reconnects nor clean-up delay a
// launch. At the defaults Pods are created at about 20 per second; a
// cluster that must start a burst of 1,000 runs at 100/s or more needs
// QPS of 100 or more (measured: 130/s at QPS 1000 with the engine's one
// Start at a time, 268/s with 16 callers).
//
// # Results and clean-up
//
// After the terminal state, with Options.ResultsDir set, artifacts (the
// job's results.artifacts globs) and the metrics file are read from
// <ResultsDir>/<subPath of the workspace mount>/<job folder>, the run's
// workspace as the syncer sees it; metrics patterns are applied to the log
// as it streams. They travel in the terminal Update. The Pod is then
// annotated AnnotationSavedAt and deleted Options.PodTTL later by a sweep
// over the informer's cache, which also removes finished Pods that no
// syncer saw to the end once Options.OrphanTTL has passed.
package kube
