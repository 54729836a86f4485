// Command tekton-validate checks TechCommerce's Tekton resources offline with Tekton's own code.
//
//	tekton-validate check PATH...   strict decode, SetDefaults and Validate (as the admission
//	                                webhooks of Pipelines and Triggers do), then cross-reference
//	                                Pipelines with the repository's Tasks and PipelineRuns with
//	                                the Pipelines, and the house rules for Task steps.
//
//	tekton-validate render -resources DIR -secret NS/NAME/KEY=VALUE HEADERS BODY...
//	                                feed webhook deliveries (a headers file and a body file
//	                                each) to the EventListener through Triggers' own sink and
//	                                interceptors; print, as JSON, what each created, and fail
//	                                when a created PipelineRun does not validate.
//
// PATH is a file or a directory (searched for *.yaml and *.yml). Exit status: 0 when nothing was
// found, 1 with one "WHERE: PROBLEM" line per finding, 2 on a usage or I/O error.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) < 1 {
		fmt.Fprintln(stderr, "usage: tekton-validate check PATH... | tekton-validate render [flags]")
		return 2
	}
	switch args[0] {
	case "check":
		return runCheck(args[1:], stdout, stderr)
	case "render":
		return runRender(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "unknown command %q\n", args[0])
		return 2
	}
}

func runCheck(paths []string, stdout, stderr io.Writer) int {
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "usage: tekton-validate check PATH...")
		return 2
	}
	docs, findings, err := loadDocs(paths)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	findings = append(findings, check(docs)...)
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
