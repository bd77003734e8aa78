package render

// Labels gitlaunch sets on every run Pod; values go through LabelValue.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "gitlaunch"
	LabelRunID     = "gitlaunch.dev/run-id"
	LabelRepo      = "gitlaunch.dev/repo"
	LabelJob       = "gitlaunch.dev/job"
	LabelSHA       = "gitlaunch.dev/sha"
	LabelTrigger   = "gitlaunch.dev/trigger"
	LabelPR        = "gitlaunch.dev/pr"
)

// Annotations carry the exact values that labels can only approximate.
const (
	AnnotationRepo            = "gitlaunch.dev/repo"
	AnnotationRepoURL         = "gitlaunch.dev/repo-url"
	AnnotationJob             = "gitlaunch.dev/job"
	AnnotationJobPath         = "gitlaunch.dev/job-path"
	AnnotationRef             = "gitlaunch.dev/ref"
	AnnotationBranch          = "gitlaunch.dev/branch"
	AnnotationRunID           = "gitlaunch.dev/run-id"
	AnnotationAttempt         = "gitlaunch.dev/attempt"
	AnnotationUntrusted       = "gitlaunch.dev/untrusted"
	AnnotationSecretsWithheld = "gitlaunch.dev/secrets-withheld"
	// AnnotationDefaultContainer makes `kubectl logs <pod>` show the job.
	AnnotationDefaultContainer = "kubectl.kubernetes.io/default-container"
)

// Container and volume names in a run Pod.
const (
	ContainerJob    = "job"
	ContainerClone  = "clone"
	VolumeWorkspace = "workspace"
	VolumeSHM       = "shm"
	VolumeGitToken  = "git-token"
	// VolumeDatasetPrefix starts the volume name of each dataset.
	VolumeDatasetPrefix = "dataset-"
)

// Paths inside a run Pod.
const (
	// MountRoot holds the repository (/mnt/<repo>) and, by default,
	// datasets (/mnt/datasets/<name>).
	MountRoot = "/mnt"
	// TokenDir is where the clone container sees the CloneSecret; the
	// token is the Secret's key "token".
	TokenDir  = "/var/run/gitlaunch/git"
	TokenFile = TokenDir + "/token"
	SHMPath   = "/dev/shm"
)

// Defaults used when neither job nor config says otherwise.
const (
	// DefaultCloneImage runs `gitlaunch clone` when the config names no
	// cloneImage.
	DefaultCloneImage = "ghcr.io/gitlaunch/gitlaunch:latest"
	// DefaultGPUResource is the extended resource of jobs whose GPU model
	// names none (and of jobs that name no model) when the config sets no
	// gpuResource.
	DefaultGPUResource = "nvidia.com/gpu"
)
