package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 0 {
			t.Errorf("%v: exit %d", args, code)
		}
		for _, want := range []string{"check PATH", "render -resources", "Examples:", "hack/tekton-validate check tekton/"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%v: help lacks %q:\n%s", args, want, out.String())
			}
		}
	}
	for _, args := range [][]string{{}, {"chek"}, {"check"}, {"render"}, {"render", "-resources", "x", "one-file"}} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		if !strings.Contains(errOut.String(), "usage") && !strings.Contains(errOut.String(), "unknown command") {
			t.Errorf("%v: stderr %q", args, errOut.String())
		}
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"render", "-h"}, &out, &errOut); code != 0 || !strings.Contains(errOut.String()+out.String(), "-resources") {
		t.Errorf("render -h: exit %d, %q", code, errOut.String())
	}
}

func TestRunCheckOnTheRepository(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"check", repoTekton}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "document(s) OK") {
		t.Errorf("stdout %q", out.String())
	}
}
