package render

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// meta sets the Pod's identity, labels and annotations over the base's.
func (r *renderer) meta() {
	base := r.pod.ObjectMeta
	m := metav1.ObjectMeta{
		Name:        AttemptPodName(r.job.Name, r.run.RunID, r.run.Attempt),
		Namespace:   base.Namespace,
		Labels:      base.Labels,
		Annotations: base.Annotations,
		Finalizers:  base.Finalizers,
	}
	if r.cfg.Namespace != "" {
		m.Namespace = r.cfg.Namespace
	}
	if m.Labels == nil {
		m.Labels = map[string]string{}
	}
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	run := r.run
	m.Labels[LabelManagedBy] = ManagedBy
	m.Labels[LabelRunID] = LabelValue(run.RunID)
	m.Labels[LabelRepo] = LabelValue(run.Repo)
	m.Labels[LabelJob] = LabelValue(r.job.Name)
	m.Labels[LabelSHA] = LabelValue(run.SHA)
	m.Labels[LabelTrigger] = LabelValue(run.Trigger)
	if run.PR > 0 {
		m.Labels[LabelPR] = strconv.Itoa(run.PR)
	} else {
		delete(m.Labels, LabelPR)
	}

	a := m.Annotations
	a[AnnotationRepo] = run.Repo
	a[AnnotationRepoURL] = run.RepoURL
	a[AnnotationJob] = r.job.Name
	a[AnnotationJobPath] = r.job.Path
	a[AnnotationRunID] = run.RunID
	a[AnnotationAttempt] = strconv.Itoa(run.Attempt)
	a[AnnotationDefaultContainer] = ContainerJob
	setOrDelete(a, AnnotationRef, run.Ref)
	setOrDelete(a, AnnotationBranch, run.Branch)
	setOrDelete(a, AnnotationUntrusted, boolText(run.Untrusted))
	setOrDelete(a, AnnotationSecretsWithheld, boolText(run.Untrusted && len(r.job.Secrets) > 0))

	r.pod.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}
	r.pod.ObjectMeta = m
	r.pod.Status = corev1.PodStatus{}
}

func setOrDelete(m map[string]string, k, v string) {
	if v == "" {
		delete(m, k)
		return
	}
	m[k] = v
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return ""
}
