// Package render turns a job, one run of it and the cluster config into the
// Kubernetes Pod that runs it. It is pure: no clients, no I/O, and the same
// inputs always give a byte-identical Pod.
//
// # Shape
//
// One Pod per run (attempt), restartPolicy Never, activeDeadlineSeconds from
// the job's timeout. The `clone` init container runs `gitlaunch clone` with
// plain arguments (never a shell string) to fetch exactly the commit into
// the run's workspace: subPath runs/<run-id> of the results volume, mounted
// at /mnt/<repo> in both containers. The `job` container runs
// `sh -c <command>` in the job's folder there. The user's command is the
// only shell string in the Pod; refs, branches and names reach the run only
// as env values, annotations, sanitized labels and clone arguments.
//
// The kubelet expands $(VAR) in command, args and env values and turns $$
// into $. gitlaunch escapes every value it sets there (a "$" before "$" or
// "(" is doubled; nothing else changes), so the container sees exactly the
// user's command and the run's values. An executor that runs a Pod without
// a kubelet applies [Expand] to see the same.
//
// # Merging with the base Pod
//
// The base (templates.PodYAML, or the admin's podTemplate) is deep-copied
// and the run is rendered onto it:
//
//   - Everything gitlaunch does not set survives: tolerations, affinity,
//     nodeSelector, runtimeClassName, priorityClassName, imagePullSecrets,
//     serviceAccountName, the Pod securityContext, labels, annotations,
//     volumes, init containers and sidecar containers.
//   - gitlaunch's own fields win: name (generateName is cleared), namespace
//     (when the config sets one), restartPolicy, activeDeadlineSeconds, its
//     labels and annotations (same key: gitlaunch's value), the node
//     selector keys of the job's GPU model, and its volumes (a base volume
//     named workspace, shm, git-token or dataset-* that gitlaunch uses is
//     replaced). Server-set metadata (uid, resourceVersion, timestamps,
//     managedFields, ownerReferences) and status are dropped.
//   - A base container named `job` is the base of the main container, in
//     its place in the list (otherwise the main container comes first): its
//     securityContext, env, envFrom, resource defaults, volume mounts,
//     probes and pull policy are kept; image, command, args, workingDir are
//     gitlaunch's. Env: base entries first, then the job's env (sorted by
//     name), the GITLAUNCH_* values and the secrets; a later source wins a
//     name, and each name appears once. Mounts: a base mount at a path or of
//     a volume gitlaunch mounts is dropped.
//   - A base init container named `clone` is likewise the base of the clone
//     container (otherwise it runs after the base's init containers). When
//     the base gives it no securityContext it gets the job container's, so
//     the workspace files belong to the user the job runs as.
//   - Resources: the job's memory sets request and limit (equal: memory
//     cannot be reclaimed without an OOM kill anyway, and an equal limit
//     makes the failure the job's own OOMKilled rather than a node-pressure
//     eviction of a neighbour). The job's cpu sets the request only and
//     removes any cpu limit: a CFS quota throttles data loaders and
//     training loops in bursts far below their average use, while the
//     request alone already decides scheduling and the fair share under
//     contention. GPUs are extended resources: limits only (requests
//     default to them); GPU resource names from the config are owned by
//     gitlaunch and removed from the base when the job asks for none.
//   - Untrusted runs never get automountServiceAccountToken, whatever the
//     base says, and never get the repository's secrets.
//
// Names, label values and the /mnt/<repo> path element are sanitized
// deterministically (see [PodName], [LabelValue]); annotations carry the
// exact, unsanitized values.
package render
