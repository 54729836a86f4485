// Command tekton-validate checks TechCommerce's Tekton resources offline with Tekton's own code.
// People run it through the wrapper hack/tekton-validate, which builds it on first use; usage
// below.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `usage: hack/tekton-validate COMMAND [ARGS]

Checks TechCommerce's Tekton resources offline with the Go code of Tekton Pipelines and Triggers.

Commands:
  check PATH...    Strict decode, SetDefaults and Validate of every object (as the admission
                   webhooks of Pipelines and Triggers do), Kubernetes' own metadata validation
                   (names, labels, annotations), then Pipelines against the repository's Tasks,
                   PipelineRuns against the Pipelines, and the house rules for Task steps.
                   PATH is a file or a directory (searched for *.yaml and *.yml).
  render -resources DIR [-secret NS/NAME/KEY=VALUE]... [-listener NAME] HEADERS BODY...
                   Feed webhook deliveries (a headers file and a body file each) to the
                   EventListener through Triggers' own sink and interceptors; print, as JSON, what
                   each created, and fail when a created object does not pass Kubernetes' or
                   Tekton's validation or the repository's Pipeline.
  help             This text.

Exit status: 0 when nothing was found, 1 with one "WHERE: PROBLEM" line per finding, 2 on a usage
or I/O error.

Examples:
  hack/tekton-validate check tekton/
  hack/tekton-validate check tekton/pipelines/cd.yaml tekton/tasks/
  hack/tekton-validate render -resources tekton \
    -secret techcommerce-ci/github-webhook-secret/secret=techcommerce-test-webhook-secret \
    tests/tekton/webhooks/push-main-one-service.headers tests/tekton/webhooks/push-main-one-service.json
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) < 1 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "check":
		return runCheck(args[1:], stdout, stderr)
	case "render":
		return runRender(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "unknown command %q (hack/tekton-validate --help lists the commands)\n", args[0])
		return 2
	}
}

func runCheck(paths []string, stdout, stderr io.Writer) int {
	if len(paths) == 1 && (paths[0] == "-h" || paths[0] == "--help") {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "usage: hack/tekton-validate check PATH... (--help for more)")
		return 2
	}
	docs, findings, err := loadAndCheck(paths)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	for _, f := range findings {
		fmt.Fprintln(stdout, f)
	}
	if len(findings) > 0 {
		fmt.Fprintf(stderr, "tekton-validate: %d problem(s) in %d document(s)\n", len(findings), len(docs))
		return 1
	}
	fmt.Fprintf(stdout, "tekton-validate: %d document(s) OK\n", len(docs))
	return 0
}
