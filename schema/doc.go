// Package schema defines the gitlaunch manifests a person writes — job.yaml
// (kind Job) and the admin's gitlaunch.yaml (kind Config) — and loads them
// with every problem reported at once, each with its file:line:col.
//
// # Loading
//
// Load (or LoadWithConfig, which also checks names against the cluster
// config) parses one job.yaml and returns either a *Job with its defaults
// applied or Problems, every problem found, sorted by position:
//
//	mnist/job.yaml:7:3: resources.gpus: unknown field "gpus"; did you mean "gpu"? (known fields: cpu, gpu, gpuModel, memory, shm)
//	mnist/job.yaml:12:13: on.schedule[0].cron: "0 3 * *" is not a valid cron expression: expected exactly 5 fields, found 4: [0 3 * *] (five fields, ...)
//
// Each Problem has the file, line and column (of the key for an unknown
// field, of the value for a bad one), the field path (datasets[1].name),
// what is wrong and what is allowed. LoadFile reads a manifest from a
// checkout and refuses symlinks, special files and paths leaving the
// repository; CheckUnique finds job names used twice in one repository.
// LoadConfig and LoadConfigFile do the same for the admin's config.
//
// Problems are found in three passes over the YAML tree (gopkg.in/yaml.v3
// nodes, which carry positions):
//
//   - the parse: one document, a mapping at the top, no anchors or
//     aliases, no duplicate keys, bounded size and depth. A file that fails
//     here (binary, an alias bomb, several documents) gets one Problem.
//   - the JSON schema (JobSchemaJSON, ConfigSchemaJSON), applied by an
//     interpreter that walks the nodes directly; tests and fuzzing hold it
//     to github.com/xeipuuv/gojsonschema.
//   - checks no schema can express: cron expressions and time zones
//     parse, Kubernetes quantities and resource names are valid, globs
//     and regular expressions compile, paths stay inside the repository
//     and under /mnt, names are unique and known to the cluster.
//
// # Editors
//
// The schemas are draft-07 and carry descriptions, examples and
// patternErrorMessage for editors. With the YAML language server (VS Code's
// YAML extension, and others), a modeline at the top of job.yaml turns on
// completion and checking as you type:
//
//	# yaml-language-server: $schema=https://raw.githubusercontent.com/gitlaunch/gitlaunch/main/schema/job.schema.json
//
// and in the admin's gitlaunch.yaml:
//
//	# yaml-language-server: $schema=https://raw.githubusercontent.com/gitlaunch/gitlaunch/main/schema/config.schema.json
//
// A relative path to a checked-out copy of the schema works as well.
//
// # Globs
//
// on.push.branches, on.pullRequest.branches, on.paths and
// results.artifacts are globs: path.Match syntax within one '/'-separated
// segment, plus "**" as a whole segment for any number of segments.
// MatchGlob and ValidGlob implement them for the planner too.
package schema
