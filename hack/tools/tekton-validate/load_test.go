package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

func TestDecodeYAMLDocIsStrict(t *testing.T) {
	task := "apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: t\nspec:\n  steps:\n    - name: s\n      image: busybox:1.36\n"
	kind, name, obj, err := decodeYAMLDoc([]byte(task))
	if err != nil || kind != "Task" || name != "t" {
		t.Fatalf("valid Task: %q %q %v", kind, name, err)
	}
	if _, ok := obj.(*pipelinev1.Task); !ok {
		t.Fatalf("decoded %T", obj)
	}
	bad := map[string]string{
		"unknown field":    strings.Replace(task, "  name: t\n", "  name: t\n  nmae: x\n", 1),
		"duplicate key":    strings.Replace(task, "  name: t\n", "  name: t\n  name: u\n", 1),
		"wrong case":       strings.Replace(task, "      image:", "      Image:", 1),
		"unknown kind":     strings.Replace(task, "kind: Task", "kind: Tsak", 1),
		"unknown version":  strings.Replace(task, "tekton.dev/v1", "tekton.dev/v1beta1", 1),
		"not YAML mapping": "- a\n- b\n",
	}
	for what, doc := range bad {
		if _, _, _, err := decodeYAMLDoc([]byte(doc)); err == nil {
			t.Errorf("%s: no error", what)
		}
	}
	// A Kustomization is listed, not decoded.
	kind, _, obj, err = decodeYAMLDoc([]byte("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"))
	if err != nil || obj != nil || kind != "Kustomization" {
		t.Errorf("Kustomization: %v %v", obj, err)
	}
	// generateName stands in for a name.
	_, name, _, _ = decodeYAMLDoc([]byte("apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata:\n  generateName: ci-\nspec: {}\n"))
	if name != "ci-*" {
		t.Errorf("name %q", name)
	}
}

func TestYAMLFilesSortsAndSkipsDotFiles(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"b.yaml", "a.yml", "c.txt", ".tektonlintrc.yaml", ".hidden/x.yaml", "sub/d.yaml"} {
		p := filepath.Join(dir, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("{}"), 0o600)
	}
	got, err := yamlFiles([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "a.yml"), filepath.Join(dir, "b.yaml"), filepath.Join(dir, "sub", "d.yaml")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := yamlFiles([]string{filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing path must be an error")
	}
}

func TestLoadDocsReportsEveryBrokenDocument(t *testing.T) {
	dir := t.TempDir()
	content := "# only a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\nbogus: 1\n---\nkind: Nope\napiVersion: x/v1\n"
	os.WriteFile(filepath.Join(dir, "f.yaml"), []byte(content), 0o600)
	docs, findings, err := loadDocs([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 || docs[0].Name != "ok" || docs[0].Index != 0 {
		t.Errorf("docs %v", docs)
	}
	if len(findings) != 2 || !strings.Contains(findings[0].Where, "f.yaml[1] ConfigMap/bad") {
		t.Errorf("findings %v", findings)
	}
}
