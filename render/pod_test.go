package render

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/gitlaunch/gitlaunch/schema"
)

// stringsIn lists every string in pod's JSON form with its path; list
// elements that have a name are addressed by it: containers[job].env[X].
func stringsIn(t *testing.T, pod *corev1.Pod) map[string]string {
	t.Helper()
	raw, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var walk func(p string, v any)
	walk = func(p string, v any) {
		switch v := v.(type) {
		case string:
			out[p] = v
		case map[string]any:
			for k, e := range v {
				walk(p+"."+k, e)
			}
		case []any:
			for i, e := range v {
				key := fmt.Sprint(i)
				if m, ok := e.(map[string]any); ok {
					if n, ok := m["name"].(string); ok {
						key = n
					}
				}
				walk(fmt.Sprintf("%s[%s]", p, key), e)
			}
		}
	}
	walk("", v)
	return out
}

func TestHostileRefsStayData(t *testing.T) {
	hostile := []string{
		"$(rm -rf /)",
		"`reboot`",
		`it's "quoted"`,
		"with spaces and\ttabs",
		"line one\nline two",
		"$$",
		"$(GITLAUNCH_SHA)",
		"${HOME}; echo pwned",
		"feat/모델-실험",
		hostileBranch,
	}
	allowed := regexp.MustCompile(`^(\.metadata\.annotations\.gitlaunch\.dev/(ref|branch)` +
		`|\.spec\.containers\[job\]\.env\[GITLAUNCH_(REF|BRANCH)\]\.value` +
		`|\.spec\.initContainers\[clone\]\.args\[5\])$`)
	for _, b := range hostile {
		t.Run(b, func(t *testing.T) {
			run := pushRun()
			run.Branch, run.Ref = b, "refs/heads/"+b
			job := helloJob()
			job.Command = "python train.py --epochs 2" // no $: the Pod holds it byte for byte
			pod, err := Pod(job, run, clusterConfig(), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range podProblems(pod) {
				t.Error(p)
			}
			main := container(t, pod.Spec.Containers, ContainerJob)
			if want := []string{"sh", "-c", job.Command}; strings.Join(main.Command, "\x00") != strings.Join(want, "\x00") || main.Args != nil {
				t.Errorf("job command = %q args %q, want %q", main.Command, main.Args, want)
			}
			for p, v := range stringsIn(t, pod) {
				if strings.Contains(v, b) && !allowed.MatchString(p) {
					t.Errorf("the branch reached %s = %q", p, v)
				}
			}
			_, env := kubeletView(main)
			if env["GITLAUNCH_BRANCH"] != b || env["GITLAUNCH_REF"] != run.Ref {
				t.Errorf("container sees branch %q ref %q", env["GITLAUNCH_BRANCH"], env["GITLAUNCH_REF"])
			}
			if pod.Annotations[AnnotationBranch] != b || pod.Annotations[AnnotationRef] != run.Ref {
				t.Error("annotations must hold the exact branch and ref")
			}
			argv, _ := kubeletView(container(t, pod.Spec.InitContainers, ContainerClone))
			if argv[6] != "--ref" || argv[7] != run.Ref {
				t.Errorf("clone argv = %q: want the ref as its own element after --ref", argv)
			}
		})
	}
}

func TestCommandReachesShellUnchanged(t *testing.T) {
	for _, cmd := range []string{
		"python train.py --epochs 2",
		"echo $HOME ${EPOCHS:-1} $1 'single $quoted' costs 5$",
		"echo $$ > pid; kill -0 $$",
		"echo $(date) $(GITLAUNCH_SHA) $$(x) ${GITLAUNCH_SHA} $",
		"set -e\ncd data && tar xf $(ls *.tar | head -1)\npython -c 'print(\"$(EPOCHS)\")'\n",
		"echo unclosed $( paren",
	} {
		job := helloJob()
		job.Command = cmd
		job.Env = map[string]string{"EPOCHS": "$(GITLAUNCH_SHA)", "X": "$$"}
		pod, err := Pod(job, manualRun(), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		main := container(t, pod.Spec.Containers, ContainerJob)
		argv, env := kubeletView(main)
		if len(argv) != 3 || argv[2] != cmd {
			t.Errorf("the shell gets %q, want %q", argv, cmd)
		}
		kubeletActsOn := strings.Contains(cmd, "$$") || strings.Contains(cmd, "$(")
		if (main.Command[2] == cmd) == kubeletActsOn {
			t.Errorf("sh -c argument %q for %q: escaped only where the kubelet would act", main.Command[2], cmd)
		}
		if env["EPOCHS"] != "$(GITLAUNCH_SHA)" || env["X"] != "$$" {
			t.Errorf("env values changed: %q", env)
		}
	}
}

func TestSecrets(t *testing.T) {
	job := loadJob(t, "mnist.job.yaml", "mnist/job.yaml")
	job.Secrets = []string{"WANDB_API_KEY", "HF_TOKEN", "WANDB_API_KEY"}
	base := loadBase(t, "admin.pod.yaml") // asks for a service account token

	secretEnv := func(pod *corev1.Pod) []string {
		var keys []string
		for _, c := range append(pod.Spec.InitContainers, pod.Spec.Containers...) {
			for _, e := range c.Env {
				if ref := secretRef(e); ref != nil {
					keys = append(keys, ref.Name+"/"+ref.Key)
				}
			}
		}
		return keys
	}

	trusted, err := Pod(job, pushRun(), clusterConfig(), base)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(secretEnv(trusted), ","); got != "vision-lab-secrets/HF_TOKEN,vision-lab-secrets/WANDB_API_KEY" {
		t.Errorf("trusted secret env = %s", got)
	}
	if _, ok := trusted.Annotations[AnnotationSecretsWithheld]; ok {
		t.Error("trusted run marked secrets-withheld")
	}

	run := pushRun()
	run.Untrusted = true
	untrusted, err := Pod(job, run, clusterConfig(), base)
	if err != nil {
		t.Fatal(err)
	}
	if got := secretEnv(untrusted); len(got) > 0 {
		t.Errorf("untrusted run got secrets %v", got)
	}
	if untrusted.Annotations[AnnotationSecretsWithheld] != "true" || untrusted.Annotations[AnnotationUntrusted] != "true" {
		t.Errorf("annotations = %v", untrusted.Annotations)
	}
	if a := untrusted.Spec.AutomountServiceAccountToken; a == nil || *a {
		t.Error("untrusted run may mount a service account token")
	}

	job.Secrets = nil
	none, err := Pod(job, run, clusterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := none.Annotations[AnnotationSecretsWithheld]; ok {
		t.Error("nothing was withheld from a job without secrets")
	}

	// Without a Secret name (the local executor) there is no reference.
	job.Secrets = []string{"WANDB_API_KEY"}
	run = pushRun()
	run.SecretName = ""
	local, err := Pod(job, run, clusterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := secretEnv(local); len(got) > 0 {
		t.Errorf("secret env without a Secret: %v", got)
	}
}

func TestRetryNames(t *testing.T) {
	job := loadJob(t, "mnist.job.yaml", "mnist/job.yaml")
	names := map[string]int{}
	for attempt := 1; attempt <= 3; attempt++ {
		run := pushRun()
		run.Attempt = attempt
		pod, err := Pod(job, run, clusterConfig(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if prev, ok := names[pod.Name]; ok {
			t.Errorf("attempts %d and %d share the name %s", prev, attempt, pod.Name)
		}
		names[pod.Name] = attempt
		if pod.Annotations[AnnotationAttempt] != fmt.Sprint(attempt) || pod.Labels[LabelRunID] != testRunID {
			t.Errorf("attempt %d: annotations %v labels %v", attempt, pod.Annotations, pod.Labels)
		}
		if want := AttemptPodName(job.Name, testRunID, attempt); pod.Name != want {
			t.Errorf("attempt %d named %s, want %s", attempt, pod.Name, want)
		}
	}
}

func TestResources(t *testing.T) {
	cfg := clusterConfig()
	amd := clusterConfig()
	amd.GPUResource = "amd.com/gpu"
	baseWithLimits := loadBase(t, "admin.pod.yaml") // cpu limit 2, nvidia.com/gpu 1
	tests := []struct {
		name         string
		res          schema.Resources
		cfg          *schema.Config
		base         *corev1.Pod
		limits, reqs string // "name=qty,..." sorted
		nodeSelector string
	}{
		{name: "cpu job", res: schema.Resources{CPU: "2", Memory: "4Gi"}, cfg: cfg,
			limits: "memory=4Gi", reqs: "cpu=2,memory=4Gi"},
		{name: "gpu 0 drops the base's GPU and cpu limit", res: schema.Resources{CPU: "500m"}, cfg: cfg, base: baseWithLimits,
			limits: "memory=2Gi", reqs: "cpu=500m,ephemeral-storage=20Gi,memory=1Gi", nodeSelector: "node-pool=gpu,nvidia.com/gpu.product=overridden-by-gitlaunch"},
		{name: "base cpu limit kept when the job sets no cpu", res: schema.Resources{}, cfg: cfg, base: baseWithLimits,
			limits: "cpu=2,memory=2Gi", reqs: "cpu=1,ephemeral-storage=20Gi,memory=1Gi", nodeSelector: "node-pool=gpu,nvidia.com/gpu.product=overridden-by-gitlaunch"},
		{name: "renamed resource", res: schema.Resources{GPU: 2, GPUModel: "a100"}, cfg: cfg,
			limits: "nvidia.com/a100=2"},
		{name: "node selector model", res: schema.Resources{GPU: 8, GPUModel: "h100"}, cfg: cfg,
			limits: "nvidia.com/gpu=8", nodeSelector: "nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3"},
		{name: "no model", res: schema.Resources{GPU: 1}, cfg: cfg, limits: "nvidia.com/gpu=1"},
		{name: "no model, config resource", res: schema.Resources{GPU: 1}, cfg: amd, limits: "amd.com/gpu=1"},
		{name: "no config", res: schema.Resources{GPU: 1}, limits: "nvidia.com/gpu=1"},
		{name: "model ignored without GPUs", res: schema.Resources{GPUModel: "h100"}, cfg: cfg},
	}
	list := func(l corev1.ResourceList) string {
		var parts []string
		for _, k := range sortedKeys(resourceStrings(l)) {
			parts = append(parts, k+"="+resourceStrings(l)[k])
		}
		return strings.Join(parts, ",")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := helloJob()
			job.Resources = tt.res
			pod, err := Pod(job, pushRun(), tt.cfg, tt.base)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range podProblems(pod) {
				t.Error(p)
			}
			r := container(t, pod.Spec.Containers, ContainerJob).Resources
			if got := list(r.Limits); got != tt.limits {
				t.Errorf("limits %s, want %s", got, tt.limits)
			}
			if got := list(r.Requests); got != tt.reqs {
				t.Errorf("requests %s, want %s", got, tt.reqs)
			}
			var ns []string
			for _, k := range sortedKeys(pod.Spec.NodeSelector) {
				ns = append(ns, k+"="+pod.Spec.NodeSelector[k])
			}
			if got := strings.Join(ns, ","); got != tt.nodeSelector {
				t.Errorf("nodeSelector %s, want %s", got, tt.nodeSelector)
			}
		})
	}
}

func resourceStrings(l corev1.ResourceList) map[string]string {
	m := map[string]string{}
	for k, v := range l {
		m[string(k)] = v.String()
	}
	return m
}

func TestDeadline(t *testing.T) {
	h := func(d time.Duration) schema.Duration { return schema.Duration{Duration: d} }
	tests := []struct {
		job, cfg schema.Duration
		want     int64
	}{
		{h(6 * time.Hour), h(time.Hour), 21600},
		{h(0), h(90 * time.Minute), 5400},
		{h(0), h(0), 86400},
		{h(1500 * time.Millisecond), h(0), 2},
	}
	for _, tt := range tests {
		job := helloJob()
		job.Timeout = tt.job
		cfg := clusterConfig()
		cfg.Defaults.Timeout = tt.cfg
		pod, err := Pod(job, manualRun(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := *pod.Spec.ActiveDeadlineSeconds; got != tt.want {
			t.Errorf("job %v cfg %v: activeDeadlineSeconds %d, want %d", tt.job, tt.cfg, got, tt.want)
		}
	}
}

func TestResultsVolume(t *testing.T) {
	nfs := &corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nas.example.com", Path: "/results"}}
	tests := []struct {
		res  schema.ResultsVolume
		want func(corev1.VolumeSource) bool
	}{
		{schema.ResultsVolume{ClaimName: "results"}, func(s corev1.VolumeSource) bool {
			return s.PersistentVolumeClaim != nil && s.PersistentVolumeClaim.ClaimName == "results"
		}},
		{schema.ResultsVolume{Volume: nfs}, func(s corev1.VolumeSource) bool { return s.NFS != nil && s.NFS.Server == "nas.example.com" }},
		{schema.ResultsVolume{}, func(s corev1.VolumeSource) bool { return s.EmptyDir != nil }},
	}
	for i, tt := range tests {
		cfg := clusterConfig()
		cfg.Results = tt.res
		pod, err := Pod(helloJob(), manualRun(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		var ws *corev1.Volume
		for i := range pod.Spec.Volumes {
			if pod.Spec.Volumes[i].Name == VolumeWorkspace {
				ws = &pod.Spec.Volumes[i]
			}
		}
		if ws == nil || !tt.want(ws.VolumeSource) {
			t.Errorf("case %d: workspace volume %+v", i, ws)
		}
		if tt.res.Volume != nil && ws.NFS == tt.res.Volume.NFS {
			t.Error("the config's volume source was not copied")
		}
		for _, name := range []string{ContainerClone, ContainerJob} {
			c := container(t, append(pod.Spec.InitContainers, pod.Spec.Containers...), name)
			m := c.VolumeMounts[len(c.VolumeMounts)-1]
			if name == ContainerJob {
				m = c.VolumeMounts[0]
			}
			if m.Name != VolumeWorkspace || m.MountPath != "/mnt/hello" || m.SubPath != "runs/"+manualRun().RunID {
				t.Errorf("%s mounts %+v", name, m)
			}
		}
	}
}

func TestEnv(t *testing.T) {
	job := helloJob()
	job.Env = map[string]string{"B": "2", "A": "1", "GITLAUNCH_SHA": "forged", "PIP_CACHE_DIR": "/job/pip"}
	run := pushRun()
	run.PR = 42
	pod, err := Pod(job, run, clusterConfig(), loadBase(t, "admin.pod.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range container(t, pod.Spec.Containers, ContainerJob).Env {
		names = append(names, e.Name)
	}
	want := "EPOCHS A B PIP_CACHE_DIR GITLAUNCH_REPO GITLAUNCH_SHA GITLAUNCH_REF GITLAUNCH_BRANCH GITLAUNCH_PR " +
		"GITLAUNCH_JOB GITLAUNCH_RUN_ID GITLAUNCH_TRIGGER GITLAUNCH_WORKSPACE"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("env order\n got %s\nwant %s", got, want)
	}
	_, env := kubeletView(container(t, pod.Spec.Containers, ContainerJob))
	for k, v := range map[string]string{
		"EPOCHS": "overridden-by-job", "PIP_CACHE_DIR": "/job/pip", "GITLAUNCH_SHA": testSHA,
		"GITLAUNCH_PR": "42", "GITLAUNCH_WORKSPACE": "/mnt/vision-lab", "GITLAUNCH_JOB": "hello",
	} {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if pod.Labels[LabelPR] != "42" {
		t.Errorf("pr label = %q", pod.Labels[LabelPR])
	}
}

func TestWorkingDir(t *testing.T) {
	tests := []struct {
		dir, workdir, want, err string
	}{
		{".", "", "/mnt/vision-lab", ""},
		{"", ".", "/mnt/vision-lab", ""},
		{"mnist", ".", "/mnt/vision-lab/mnist", ""},
		{"mnist", "src/./train", "/mnt/vision-lab/mnist/src/train", ""},
		{"a/b", "..", "/mnt/vision-lab/a", ""},
		{"mnist", "../..", "", "leaves the repository"},
		{"mnist", "/etc", "", "relative"},
		{"실험/모델", "데이터 폴더", "/mnt/vision-lab/실험/모델/데이터 폴더", ""},
	}
	for _, tt := range tests {
		job := helloJob()
		job.Dir, job.Workdir = tt.dir, tt.workdir
		pod, err := Pod(job, pushRun(), clusterConfig(), nil)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("dir %q workdir %q: error %v, want %q", tt.dir, tt.workdir, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := container(t, pod.Spec.Containers, ContainerJob).WorkingDir; got != tt.want {
			t.Errorf("dir %q workdir %q: workingDir %q, want %q", tt.dir, tt.workdir, got, tt.want)
		}
	}
}

func TestBaseMerge(t *testing.T) {
	base := loadBase(t, "admin.pod.yaml")
	base.Spec.InitContainers = append(base.Spec.InitContainers, corev1.Container{
		Name:          ContainerClone,
		Image:         "registry.example.com/gitlaunch:mirror",
		RestartPolicy: ptr(corev1.ContainerRestartPolicyAlways),
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("100m"),
		}},
		SecurityContext: &corev1.SecurityContext{RunAsUser: ptr(int64(2000))},
		VolumeMounts:    []corev1.VolumeMount{{Name: "pip-cache", MountPath: "/mnt/vision-lab"}},
	}, corev1.Container{Name: "after-clone", Image: "busybox"})
	base.ObjectMeta.UID = "stale-uid"
	base.ObjectMeta.ResourceVersion = "12"
	base.ObjectMeta.GenerateName = "x-"
	cfg := clusterConfig()
	cfg.CloneImage = ""
	cfg.Namespace = ""
	base.Namespace = "admins-choice"

	pod, err := Pod(helloJob(), pushRun(), cfg, base)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range podProblems(pod) {
		t.Error(p)
	}
	var inits []string
	for _, c := range pod.Spec.InitContainers {
		inits = append(inits, c.Name)
	}
	if got := strings.Join(inits, ","); got != "wait-for-mesh,clone,after-clone" {
		t.Errorf("init containers %s: the base's clone keeps its place", got)
	}
	clone := container(t, pod.Spec.InitContainers, ContainerClone)
	if clone.Image != "registry.example.com/gitlaunch:mirror" || clone.RestartPolicy != nil ||
		clone.Resources.Requests.Cpu().String() != "100m" || *clone.SecurityContext.RunAsUser != 2000 {
		t.Errorf("clone container = %+v", clone)
	}
	if len(clone.VolumeMounts) != 2 || clone.VolumeMounts[0].Name != VolumeWorkspace {
		t.Errorf("clone mounts %+v: the base's mount at the workspace path must go", clone.VolumeMounts)
	}
	main := container(t, pod.Spec.Containers, ContainerJob)
	for _, m := range main.VolumeMounts {
		if m.MountPath == "/workspace" {
			t.Error("a base mount of the replaced workspace volume survived")
		}
	}
	for _, v := range pod.Spec.Volumes {
		if v.Name == VolumeWorkspace && v.EmptyDir != nil {
			t.Error("the base's workspace volume survived")
		}
	}
	if pod.UID != "" || pod.ResourceVersion != "" || pod.GenerateName != "" || pod.Namespace != "admins-choice" {
		t.Errorf("metadata = %+v", pod.ObjectMeta)
	}
	if main.Image != helloJob().Image {
		t.Errorf("image %s", main.Image)
	}

	// The base's image is the last fallback for the job's.
	job := helloJob()
	job.Image = ""
	cfg.Defaults.Image = ""
	pod, err = Pod(job, pushRun(), cfg, base)
	if err != nil {
		t.Fatal(err)
	}
	if got := container(t, pod.Spec.Containers, ContainerJob).Image; got != "registry.example.com/default-image:1" {
		t.Errorf("image %s", got)
	}
	if got := container(t, pod.Spec.InitContainers, ContainerClone).Image; got != "registry.example.com/gitlaunch:mirror" {
		t.Errorf("clone image %s", got)
	}
}

func TestDefaultCloneImage(t *testing.T) {
	pod, err := Pod(helloJob(), manualRun(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := container(t, pod.Spec.InitContainers, ContainerClone).Image; got != DefaultCloneImage {
		t.Errorf("clone image %s", got)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(*schema.Job, *RunContext, **schema.Config, **corev1.Pod)
		want string
	}{
		{"dataset not in config", func(j *schema.Job, _ *RunContext, _ **schema.Config, _ **corev1.Pod) {
			j.Datasets = append(j.Datasets, schema.Dataset{Name: "imagenet"})
		}, `dataset "imagenet" has no volume`},
		{"dataset without config", func(_ *schema.Job, _ *RunContext, c **schema.Config, _ **corev1.Pod) {
			*c = nil
		}, `dataset "mnist" has no volume`},
		{"dataset without volume", func(_ *schema.Job, _ *RunContext, c **schema.Config, _ **corev1.Pod) {
			(*c).Datasets["mnist"] = schema.DatasetSource{LocalPath: "/data/mnist"}
		}, `dataset "mnist" has no volume`},
		{"dataset path taken", func(j *schema.Job, _ *RunContext, _ **schema.Config, _ **corev1.Pod) {
			j.Datasets[0].Path = "/dev/shm"
		}, `"/dev/shm" of dataset "mnist" is already used`},
		{"dataset path relative", func(j *schema.Job, _ *RunContext, _ **schema.Config, _ **corev1.Pod) {
			j.Datasets[0].Path = "data/mnist"
		}, "clean absolute path"},
		{"unknown GPU model", func(j *schema.Job, _ *RunContext, _ **schema.Config, _ **corev1.Pod) {
			j.Resources.GPUModel = "v100"
		}, `gpuModel "v100": not in the cluster config (known: [a100 h100])`},
		{"negative GPUs", func(j *schema.Job, _ *RunContext, _ **schema.Config, _ **corev1.Pod) { j.Resources.GPU = -1 }, "resources.gpu -1"},
		{"bad cpu", func(j *schema.Job, _ *RunContext, _ **schema.Config, _ **corev1.Pod) { j.Resources.CPU = "four" }, `resources.cpu "four"`},
		{"bad memory", func(j *schema.Job, _ *RunContext, _ **schema.Config, _ **corev1.Pod) { j.Resources.Memory = "16GB!" }, `resources.memory "16GB!"`},
		{"bad shm", func(j *schema.Job, _ *RunContext, _ **schema.Config, _ **corev1.Pod) { j.Resources.SHM = "lots" }, `resources.shm "lots"`},
		{"bad env name", func(j *schema.Job, _ *RunContext, _ **schema.Config, _ **corev1.Pod) { j.Env["1BAD=X"] = "" }, `env "1BAD=X"`},
		{"bad secret key", func(j *schema.Job, _ *RunContext, _ **schema.Config, _ **corev1.Pod) { j.Secrets = []string{"a b"} }, `secrets: "a b"`},
		{"no image", func(j *schema.Job, _ *RunContext, c **schema.Config, b **corev1.Pod) {
			j.Image = ""
			(*c).Defaults.Image = ""
			*b = nil
		}, "image"},
		{"no command", func(j *schema.Job, _ *RunContext, _ **schema.Config, _ **corev1.Pod) { j.Command = " \n" }, "command"},
		{"no name", func(j *schema.Job, _ *RunContext, _ **schema.Config, _ **corev1.Pod) { j.Name = "" }, "no name"},
		{"negative timeout", func(j *schema.Job, _ *RunContext, _ **schema.Config, _ **corev1.Pod) {
			j.Timeout.Duration = -time.Hour
		}, "must be positive"},
		{"bad run id", func(_ *schema.Job, r *RunContext, _ **schema.Config, _ **corev1.Pod) { r.RunID = "../x" }, `run id "../x"`},
		{"short sha", func(_ *schema.Job, r *RunContext, _ **schema.Config, _ **corev1.Pod) { r.SHA = "3f786850" }, `commit "3f786850"`},
		{"sha with options", func(_ *schema.Job, r *RunContext, _ **schema.Config, _ **corev1.Pod) { r.SHA = "--upload-pack=x" }, "commit"},
		{"no repo", func(_ *schema.Job, r *RunContext, _ **schema.Config, _ **corev1.Pod) { r.Repo = "" }, "no repository name"},
		{"no URL", func(_ *schema.Job, r *RunContext, _ **schema.Config, _ **corev1.Pod) { r.RepoURL = "" }, "no repository URL"},
		{"password in URL", func(_ *schema.Job, r *RunContext, _ **schema.Config, _ **corev1.Pod) {
			r.RepoURL = "https://bot:ghp_secret@github.com/example/vision-lab.git"
		}, "holds a password"},
		{"base has a clone app container", func(_ *schema.Job, _ *RunContext, _ **schema.Config, b **corev1.Pod) {
			(*b).Spec.Containers = append((*b).Spec.Containers, corev1.Container{Name: "clone", Image: "x"})
		}, `container name "clone" is reserved`},
		{"base has a job init container", func(_ *schema.Job, _ *RunContext, _ **schema.Config, b **corev1.Pod) {
			(*b).Spec.InitContainers = append((*b).Spec.InitContainers, corev1.Container{Name: "job", Image: "x"})
		}, `init container name "job" is reserved`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := loadJob(t, "mnist.job.yaml", "mnist/job.yaml")
			run, cfg, base := pushRun(), clusterConfig(), loadBase(t, "admin.pod.yaml")
			tt.edit(job, &run, &cfg, &base)
			pod, err := Pod(job, run, cfg, base)
			if err == nil {
				t.Fatalf("rendered %s", pod.Name)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "mnist/job.yaml") {
				t.Errorf("error %q: want it to name mnist/job.yaml and %q", err, tt.want)
			}
		})
	}
	if _, err := Pod(nil, pushRun(), nil, nil); err == nil {
		t.Error("nil job rendered")
	}
}

func TestDatasets(t *testing.T) {
	job := loadJob(t, "mnist.job.yaml", "mnist/job.yaml")
	cfg := clusterConfig()
	cfg.Datasets["ImageNet_2012"] = schema.DatasetSource{Volume: &corev1.VolumeSource{
		NFS: &corev1.NFSVolumeSource{Server: "nas", Path: "/imagenet", ReadOnly: true},
	}}
	job.Datasets = append(job.Datasets,
		schema.Dataset{Name: "ImageNet_2012"},                            // default path
		schema.Dataset{Name: "mnist", Path: "/mnt/datasets/mnist-again"}) // the same volume twice
	pod, err := Pod(job, pushRun(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range podProblems(pod) {
		t.Error(p)
	}
	var got []string
	for _, m := range container(t, pod.Spec.Containers, ContainerJob).VolumeMounts {
		if strings.HasPrefix(m.Name, VolumeDatasetPrefix) {
			if !m.ReadOnly {
				t.Errorf("dataset mount %s is writable", m.MountPath)
			}
			got = append(got, m.Name+"@"+m.MountPath)
		}
	}
	want := "dataset-mnist@/mnt/datasets/mnist " + dnsLabel(VolumeDatasetPrefix, "ImageNet_2012") + "@/mnt/datasets/ImageNet_2012 dataset-mnist@/mnt/datasets/mnist-again"
	if strings.Join(got, " ") != want {
		t.Errorf("dataset mounts\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	for _, c := range pod.Spec.InitContainers {
		for _, m := range c.VolumeMounts {
			if strings.HasPrefix(m.Name, VolumeDatasetPrefix) {
				t.Errorf("init container %s mounts a dataset", c.Name)
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

// FuzzPod throws hostile names, refs and commands at Pod: it either
// refuses with an error or renders a valid Pod whose shell runs exactly
// the command.
func FuzzPod(f *testing.F) {
	f.Add("vision-lab", "main", "mnist", "python train.py", "mnist", ".")
	f.Add("모델-실험", hostileBranch, "Train_ResNet.50", "echo $$ $(GITLAUNCH_SHA)", "a/b", "..")
	f.Add(strings.Repeat("r", 200), "x\ny", strings.Repeat("j", 100), "`id`", "", "/abs")
	f.Fuzz(func(t *testing.T, repo, branch, jobName, command, dir, workdir string) {
		job := helloJob()
		job.Name, job.Command, job.Dir, job.Workdir = jobName, command, dir, workdir
		run := pushRun()
		run.Repo, run.Branch, run.Ref = repo, branch, "refs/heads/"+branch
		pod, err := Pod(job, run, clusterConfig(), nil)
		if err != nil {
			return
		}
		for _, p := range podProblems(pod) {
			t.Error(p)
		}
		argv, env := kubeletView(container(t, pod.Spec.Containers, ContainerJob))
		if len(argv) != 3 || argv[2] != command {
			t.Errorf("the shell gets %q, want %q", argv, command)
		}
		if env["GITLAUNCH_BRANCH"] != branch || env["GITLAUNCH_REPO"] != repo {
			t.Errorf("env %q", env)
		}
		if pod.Annotations[AnnotationRepo] != repo || pod.Annotations[AnnotationJob] != jobName {
			t.Error("annotations lost the exact values")
		}
	})
}
