package kubetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// kwok can read per-Pod log settings from "Logs" objects (group
// kwok.x-k8s.io) in the cluster when started with --enable-crds=Logs. This
// is a minimal definition of that resource for the test API server; kwok
// itself decodes the objects.
var logsGVR = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "logs"}

func logsCRD() *apiextensionsv1.CustomResourceDefinition {
	preserve := true
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: logsGVR.Resource + "." + logsGVR.Group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: logsGVR.Group,
			Names: apiextensionsv1.CustomResourceDefinitionNames{
				Plural:   "logs",
				Singular: "logs",
				Kind:     "Logs",
				ListKind: "LogsList",
			},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name:    logsGVR.Version,
				Served:  true,
				Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{
					OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
						Type:                   "object",
						XPreserveUnknownFields: &preserve,
					},
				},
				Subresources: &apiextensionsv1.CustomResourceSubresources{
					Status: &apiextensionsv1.CustomResourceSubresourceStatus{},
				},
			}},
		},
	}
}

// SetContainerLog gives one container of one Pod its own log (on stdout),
// instead of the shared one SetPodLog sets; the Pod need not exist yet.
// Set it before reading the log: kwok learns of it through a watch. Other
// containers of that Pod keep the shared log.
func (e *Env) SetContainerLog(ctx context.Context, namespace, pod, container string, lines ...string) error {
	e.logsMu.Lock()
	defer e.logsMu.Unlock()
	key := types.NamespacedName{Namespace: namespace, Name: pod}
	dir := filepath.Join(e.Dir, "logs", namespace, pod)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create log dir: %w", err)
	}
	file := filepath.Join(dir, container+".log")
	if err := os.WriteFile(file, criLogLines(lines...), 0o600); err != nil {
		return fmt.Errorf("write container log: %w", err)
	}
	if e.podLogs == nil {
		e.podLogs = map[types.NamespacedName]map[string]string{}
	}
	if e.podLogs[key] == nil {
		e.podLogs[key] = map[string]string{}
	}
	e.podLogs[key][container] = file

	var entries []any
	for c, f := range e.podLogs[key] {
		entries = append(entries, map[string]any{"containers": []any{c}, "logsFile": f})
	}
	// Without a matching entry kwok would refuse the other containers.
	entries = append(entries, map[string]any{"logsFile": e.PodLogFile})
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": logsGVR.GroupVersion().String(),
		"kind":       "Logs",
		"metadata":   map[string]any{"name": pod, "namespace": namespace},
		"spec":       map[string]any{"logs": entries},
	}}
	dc, err := dynamic.NewForConfig(e.Config)
	if err != nil {
		return fmt.Errorf("dynamic client: %w", err)
	}
	_, err = dc.Resource(logsGVR).Namespace(namespace).Apply(ctx, pod, obj,
		metav1.ApplyOptions{FieldManager: "gitlaunch-kubetest", Force: true})
	if err != nil {
		return fmt.Errorf("apply kwok Logs %s: %w", key, err)
	}
	return nil
}
