package daemon_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestAdaptersImportOnlyTheEngine keeps the layering DESIGN.md asks for:
// an adapter (sync/git, sync/local, ...) imports the engine and the shared
// libraries (the results reader, the redactor, the terminal neutraliser),
// never another adapter; only this package knows them all.
// Test-support packages below an adapter (gittest, kubetest, ...) may use
// their own adapter.
func TestAdaptersImportOnlyTheEngine(t *testing.T) {
	const mod = "github.com/gitlaunch/gitlaunch/"
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", mod+"sync/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	shared := map[string]bool{"sync/engine": true, "sync/results": true, "sync/redact": true, "sync/termsafe": true}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], mod)
		if pkg == "sync/engine" || strings.HasPrefix(pkg, "sync/daemon") || strings.HasPrefix(pkg, "sync/e2e") {
			continue
		}
		checked++
		adapter := strings.Join(strings.SplitN(pkg, "/", 3)[:2], "/") // sync/git/gittest → sync/git
		for _, imp := range fields[1:] {
			dep, ok := strings.CutPrefix(imp, mod)
			if !ok || !strings.HasPrefix(dep, "sync/") || shared[dep] || dep == adapter || strings.HasPrefix(dep, adapter+"/") {
				continue
			}
			t.Errorf("%s imports %s: adapters speak only engine types; wire them in sync/daemon", pkg, dep)
		}
	}
	if checked < 8 {
		t.Fatalf("checked only %d packages; go list output:\n%s", checked, out)
	}
}
