// Package kubetest starts a real Kubernetes control plane on loopback for
// tests: etcd and kube-apiserver (through controller-runtime's envtest),
// kube-scheduler, and kwok, which plays the kubelet for fake nodes, GPU nodes
// among them. Nothing is mocked: Pods are validated and admitted by the real
// API server, scheduled by the real scheduler against the nodes' capacity, and
// moved through Pending, Running and Succeeded or Failed by kwok Stages.
//
// The binaries come from hack/kube-tools.sh, which builds them once into a
// cache directory and prints it; tests find them through KUBEBUILDER_ASSETS,
// or in the default cache directory
// ${GITLAUNCH_CACHE:-$HOME/.cache/gitlaunch}/kube/<version>/bin when that
// variable is unset. They are never downloaded. When they are missing, Start
// fails the test, unless GITLAUNCH_SKIP_KUBE=1 is set, in which case it skips
// it.
//
// Use Start in a test, or Main from TestMain to share one control plane among
// the tests of a package:
//
//	var kube *kubetest.Env
//
//	func TestMain(m *testing.M) { os.Exit(kubetest.Main(m, &kube)) }
//
//	func TestSomething(t *testing.T) {
//		env := kubetest.Need(t, kube)
//		ns := env.Namespace(t)
//		...
//	}
//
// Pods bound to the fake nodes follow the annotations described in
// stages/pod.yaml (AnnotationDuration, AnnotationExitCode and friends), which
// lets a test ask for a Pod that fails with a given exit code, is OOMKilled,
// stays in ImagePullBackOff, or keeps running.
//
// Pod logs are served by kwok through the API server (pods/log, "kubectl
// logs"): every container shows the lines given to SetPodLog and
// AppendPodLog, unless SetContainerLog gave it its own. Followed streams
// stay open until the client stops reading, even after the Pod finished.
//
// The test cluster has no kube-controller-manager: no Job controller, no
// garbage collector, no namespace deletion (deleted namespaces stay
// Terminating), and no automatic "default" ServiceAccount (Namespace creates
// one; the ServiceAccount admission plugin is off).
package kubetest
