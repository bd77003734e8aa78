package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/gitlaunch/gitlaunch/schema"
)

// ValidateOptions are the validate command's inputs.
type ValidateOptions struct {
	Paths      []string
	Output     string
	ConfigPath string

	Out, ErrOut io.Writer
}

// NewCmdValidate returns the validate command; runF replaces runValidate
// in tests.
func NewCmdValidate(runF func(*ValidateOptions) error) *cobra.Command {
	opts := &ValidateOptions{}
	cmd := &cobra.Command{
		Use:   "validate [PATH...]",
		Short: "Check job.yaml manifests and report every problem with file:line:col",
		Long: `Validate checks job.yaml manifests against the schema and gitlaunch's rules
(cron, timezones, quantities, globs, regexes, paths, unique names) and reports
every problem at once as  file:line:col: field: what is wrong (what is allowed).

A PATH may be a file or a folder; every job.yaml below a folder is checked
(.git and hidden folders are skipped). Without PATH the current folder is used.
With --config, GPU models and datasets are checked against the admin's tables.
Exit status: 0 when everything is valid, 1 on any problem, 2 on usage errors.`,
		Example: `  gitlaunch validate                        # every job.yaml below .
  gitlaunch validate examples/mnist/job.yaml
  gitlaunch validate --config gitlaunch.yaml -o json .`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Output != "text" && opts.Output != "json" {
				return fmt.Errorf("-o must be text or json, not %q", opts.Output)
			}
			opts.Paths = args
			if len(opts.Paths) == 0 {
				opts.Paths = []string{"."}
			}
			opts.Out, opts.ErrOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
			if runF != nil {
				return runF(opts)
			}
			return runValidate(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "text", "output format: text or json")
	cmd.Flags().StringVar(&opts.ConfigPath, "config", "", "admin config (gitlaunch.yaml) to check GPU models and datasets against")
	return cmd
}

func runValidate(opts *ValidateOptions) error {
	var cfg *schema.Config
	if opts.ConfigPath != "" {
		c, err := schema.LoadConfigFile(opts.ConfigPath)
		if err != nil {
			printProblems(opts.ErrOut, err)
			return exitError{1}
		}
		cfg = c
	}
	results, err := validatePaths(opts.Paths, cfg)
	if err != nil {
		return err
	}
	return reportValidation(opts.Out, opts.ErrOut, opts.Output, results)
}

// validation is the outcome for one manifest.
type validation struct {
	Path     string           `json:"path"`
	Job      string           `json:"job,omitempty"`
	Valid    bool             `json:"valid"`
	Problems []schema.Problem `json:"problems,omitempty"`
}

// validatePaths loads every manifest named by args. Paths are reported
// relative to the current folder when they are inside it, so that
// file:line:col is clickable in editors and terminals.
func validatePaths(args []string, cfg *schema.Config) ([]validation, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	var out []validation
	byRoot := map[string][]*schema.Job{}
	for _, arg := range args {
		files, root, err := findManifests(cwd, arg)
		if err != nil {
			return nil, err
		}
		for _, rel := range files {
			v := validation{Path: filepath.ToSlash(rel)}
			job, err := schema.LoadFile(root, rel, cfg)
			var ps schema.Problems
			switch {
			case errors.As(err, &ps):
				v.Problems = ps
			case err != nil:
				v.Problems = []schema.Problem{{File: v.Path, Message: err.Error()}}
			default:
				v.Valid, v.Job = true, job.Name
				byRoot[root] = append(byRoot[root], job)
			}
			out = append(out, v)
		}
	}
	for _, jobs := range byRoot {
		for _, p := range schema.CheckUnique(jobs) {
			for i := range out {
				if out[i].Path == p.File {
					out[i].Valid = false
					out[i].Problems = append(out[i].Problems, p)
				}
			}
		}
	}
	return out, nil
}

// findManifests returns the manifests under arg as paths relative to root.
func findManifests(cwd, arg string) (files []string, root string, err error) {
	abs, err := filepath.Abs(arg)
	if err != nil {
		return nil, "", err
	}
	fi, err := os.Lstat(abs)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", arg, errors.Unwrap(err))
	}
	root = cwd
	if rel, err := filepath.Rel(cwd, abs); err != nil || rel == ".." || len(rel) > 2 && rel[:3] == ".."+string(filepath.Separator) {
		root = abs
		if !fi.IsDir() {
			root = filepath.Dir(abs)
		}
	}
	if !fi.IsDir() {
		rel, _ := filepath.Rel(root, abs)
		return []string{rel}, root, nil
	}
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != abs && (d.Name()[0] == '.' || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.Name() == schema.ManifestName && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			files = append(files, rel)
		}
		return nil
	})
	slices.Sort(files)
	return files, root, err
}

func reportValidation(stdout, stderr io.Writer, output string, results []validation) error {
	bad := 0
	for _, v := range results {
		if !v.Valid {
			bad++
		}
	}
	if output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"manifests": results, "valid": bad == 0}); err != nil {
			return err
		}
	} else {
		n := 0
		for _, v := range results {
			for _, p := range v.Problems {
				fmt.Fprintln(stdout, p.String())
				n++
			}
		}
		switch {
		case len(results) == 0:
			fmt.Fprintln(stderr, "no job.yaml found")
		case bad == 0:
			fmt.Fprintf(stderr, "ok: %d manifest(s) valid\n", len(results))
		default:
			fmt.Fprintf(stderr, "%d problem(s) in %d of %d manifest(s)\n", n, bad, len(results))
		}
	}
	if bad > 0 || len(results) == 0 {
		return exitError{1}
	}
	return nil
}
